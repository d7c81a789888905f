package app

// The admin view and API: GET /admin and POST /api/v1/reload-screens, behind
// the token of `admin: {token: {env: WALLBOARD_ADMIN_TOKEN}}`.
func init() {
	routeSetups = append(routeSetups, func(a *App) error {
		a.Server().AdminRoutes(a.ConfigStatus, func() (string, error) {
			adm := a.Config().Admin
			if adm == nil {
				return "", nil
			}
			return adm.Token.Resolve()
		})
		return nil
	})
}
