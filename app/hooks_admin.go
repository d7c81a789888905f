package app

import (
	"context"

	"github.com/wallboard/wallboard/web"
)

// The admin view and API: GET /admin and POST /api/v1/reload-screens, behind
// the token of `admin: {token: {env: WALLBOARD_ADMIN_TOKEN}}`.
func init() {
	routeSetups = append(routeSetups, func(a *App) error {
		token := func() (string, error) {
			adm := a.Config().Admin
			if adm == nil {
				return "", nil
			}
			return adm.Token.Resolve()
		}
		a.Server().AdminRoutes(a.ConfigStatus, token)
		// Pairing (/pair) and the fleet page (/admin/screens), same token.
		f, err := web.NewFleet(context.Background(), a.Store(), a.log)
		if err != nil {
			return err
		}
		a.Server().FleetRoutes(f, token)
		return nil
	})
}
