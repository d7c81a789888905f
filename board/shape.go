package board

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// The shape check walks the parsed YAML against Config's types before
// decoding, so that one run reports every unknown key, every inline secret
// and every value of the wrong shape with its line (go-yaml's decoder stops
// at the first and loses the line of a custom unmarshaler's error).

var secretType = reflect.TypeFor[Secret]()

// secretRef is a secret reference as written, with where it is, so that
// `wallboard check` can say which variable or file is missing.
type secretRef struct {
	Where string
	Line  int
	Ref   Secret
}

type shapeWalker struct {
	file    string
	anchors map[string]ast.Node
	probs   []Problem
	secrets []secretRef
}

func (w *shapeWalker) add(n ast.Node, format string, args ...any) {
	w.probs = append(w.probs, Problem{File: w.file, Line: nodeLine(n), Msg: fmt.Sprintf(format, args...)})
}

func nodeLine(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// shapeProblems checks the first document of file against Config.
func shapeProblems(name string, file *ast.File) ([]Problem, []secretRef) {
	w := &shapeWalker{file: name, anchors: map[string]ast.Node{}}
	if len(file.Docs) == 0 || file.Docs[0] == nil || file.Docs[0].Body == nil {
		return nil, nil
	}
	ast.Walk(anchorCollector(w.anchors), file.Docs[0].Body)
	w.walk(file.Docs[0].Body, reflect.TypeFor[Config](), "")
	return w.probs, w.secrets
}

type anchorCollector map[string]ast.Node

func (c anchorCollector) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil && a.Name.GetToken() != nil {
		c[a.Name.GetToken().Value] = a.Value
	}
	return c
}

// resolve looks through anchors, tags and aliases to the value.
func (w *shapeWalker) resolve(n ast.Node) ast.Node {
	for range 16 { // an alias chain longer than this is refused by the decoder anyway
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil || v.Value.GetToken() == nil {
				return nil
			}
			n = w.anchors[v.Value.GetToken().Value]
		default:
			return n
		}
	}
	return nil
}

func shapeName(n ast.Node) string {
	switch n.(type) {
	case *ast.SequenceNode:
		return "list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "mapping"
	}
	return "single value"
}

func pairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

func join(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

func (w *shapeWalker) walk(n ast.Node, t reflect.Type, where string) {
	orig := n
	if n = w.resolve(n); n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == secretType {
		w.walkSecret(orig, n, where)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		ps, ok := w.keyedPairs(orig, n, where)
		if !ok {
			return
		}
		for _, p := range ps {
			key := p.Key.GetToken().Value
			if key == "<<" { // a merge key: its mapping is checked where it is written
				continue
			}
			f, ok := fieldByTag(t, key)
			if !ok {
				w.add(p.Key, "unknown key %q", key)
				continue
			}
			w.walk(p.Value, f.Type, join(where, key))
		}
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			w.add(orig, "%s: a %s where a list is expected", where, shapeName(n))
			return
		}
		for _, v := range seq.Values {
			w.walk(v, t.Elem(), where)
		}
	case reflect.Map:
		ps, ok := w.keyedPairs(orig, n, where)
		if !ok {
			return
		}
		for _, p := range ps {
			if where == "sources.headers" {
				if name := p.Key.GetToken().Value; credentialHeader(name) {
					w.add(p.Key, "%s: %q carries a credential and the config is no place for one: use token: or basic_auth: with {env: VARIABLE} or {file: /path}", where, name)
					continue
				}
			}
			w.walk(p.Value, t.Elem(), where)
		}
	case reflect.Interface:
		// A query: its source kind checks it.
	default:
		switch n.(type) {
		case *ast.SequenceNode, *ast.MappingNode, *ast.MappingValueNode:
			w.add(orig, "%s: a %s where a single value is expected", where, shapeName(n))
			return
		}
		// store.url's credentials are reported by validateStore, with the
		// store's own way of giving a password.
		if t.Kind() == reflect.String && n.GetToken() != nil && where != "store.url" {
			if msg := urlCredential(n.GetToken().Value); msg != "" {
				w.add(orig, "%s: %s", where, msg)
			}
		}
	}
}

// keyedPairs are the pairs of a mapping that have a key; false (and the
// problem reported) where n is no mapping.
func (w *shapeWalker) keyedPairs(orig, n ast.Node, where string) ([]*ast.MappingValueNode, bool) {
	ps, ok := pairs(n)
	if !ok {
		w.add(orig, "%s: a %s where a mapping (key: value) is expected", where, shapeName(n))
		return nil, false
	}
	var out []*ast.MappingValueNode
	for _, p := range ps {
		if p != nil && p.Key != nil && p.Key.GetToken() != nil {
			out = append(out, p)
		}
	}
	return out, true
}

// walkSecret wants {env: VARIABLE} or {file: /path}; anything else is a
// secret written inline.
func (w *shapeWalker) walkSecret(orig, n ast.Node, where string) {
	ps, ok := pairs(n)
	if !ok {
		w.add(orig, "%s: secrets are never written in the config: use {env: VARIABLE} or {file: /path}", where)
		return
	}
	ref := secretRef{Where: where, Line: nodeLine(orig)}
	for _, p := range ps {
		if p == nil || p.Key == nil || p.Key.GetToken() == nil {
			continue
		}
		key := p.Key.GetToken().Value
		v := w.resolve(p.Value)
		if key != "env" && key != "file" {
			w.add(p.Key, "%s: unknown key %q (a secret is {env: VARIABLE} or {file: /path}; never the secret itself)", where, key)
			continue
		}
		if _, isMap := pairs(v); isMap || v == nil || v.GetToken() == nil {
			continue
		}
		if _, seq := v.(*ast.SequenceNode); seq {
			w.add(p.Value, "%s.%s: a list where a single value is expected", where, key)
			continue
		}
		if key == "env" {
			ref.Ref.Env = v.GetToken().Value
		} else {
			ref.Ref.File = v.GetToken().Value
		}
	}
	if ref.Ref.Env != "" || ref.Ref.File != "" {
		w.secrets = append(w.secrets, ref)
	}
}

// fieldByTag finds t's field whose yaml tag is key.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == key && name != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// credentialHeader reports whether a request header carries a credential
// (Authorization, Cookie, X-Api-Key, X-Auth-Token, …).
func credentialHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"authorization", "cookie", "token", "secret", "password", "api-key", "apikey", "api_key", "auth", "session", "signature"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// credentialParam reports whether a URL query parameter name carries a
// credential (access_token, api_key, sig, …).
func credentialParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"token", "secret", "password", "passwd", "pwd", "apikey", "api_key", "api-key", "auth", "signature", "credential", "session"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return n == "key" || n == "sig" || n == "code" || strings.HasSuffix(n, "_key") || strings.HasSuffix(n, "-key")
}

// urlCredential says why s, when it is a URL, holds a credential ("" if it
// does not): a password in its user-info or a secret query parameter.
func urlCredential(s string) string {
	if !strings.Contains(s, "://") {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	if _, has := u.User.Password(); has {
		return "the URL has a password in it (user:password@): use basic_auth: with password: {env: VARIABLE} or {file: /path}"
	}
	for name := range u.Query() {
		if credentialParam(name) {
			return fmt.Sprintf("the URL carries a credential in its query (%s=…): use token: {env: VARIABLE} or {file: /path}", name)
		}
	}
	return ""
}
