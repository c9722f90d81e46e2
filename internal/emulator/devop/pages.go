package devop

import (
	"context"
	"html/template"
	"net/http"
)

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Title}} – cwcreds dev provider</title></head><body><h1>{{.Title}}</h1>{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}{{end}}
{{define "login"}}{{template "head" .}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<label>User name <input type="text" name="username" autocomplete="username" autofocus></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></body></html>{{end}}
{{define "usercode"}}{{template "head" .}}
<form method="get" action="/device">
<label>Code shown on your device <input type="text" name="user_code" autofocus></label>
<button type="submit">Continue</button>
</form></body></html>{{end}}
{{define "devicelogin"}}{{template "head" .}}
<p>Signing in a device with code <strong>{{.UserCode}}</strong>.</p>
<form method="post" action="/device/login">
<input type="hidden" name="user_code" value="{{.UserCode}}">
<label>User name <input type="text" name="username" autocomplete="username" autofocus></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></body></html>{{end}}
{{define "confirm"}}{{template "head" .}}
<p>Allow the device with code <strong>{{.UserCode}}</strong> to sign in to <strong>{{.ClientID}}</strong> as <strong>{{.User}}</strong>?</p>
<form method="post" action="/device/confirm">
<input type="hidden" name="approval" value="{{.Approval}}">
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form></body></html>{{end}}
{{define "message"}}{{template "head" .}}<p>{{.Message}}</p></body></html>{{end}}
`))

type pageData struct {
	Title, Error, Message                  string
	ID, UserCode, ClientID, User, Approval string
}

func render(w http.ResponseWriter, status int, name string, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, d)
}

func writePage(w http.ResponseWriter, status int, title, msg string) {
	render(w, status, "message", pageData{Title: title, Message: msg})
}

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, "login", pageData{Title: "Sign in", ID: r.URL.Query().Get("authRequestID")})
}

func (p *Provider) loginSubmit(w http.ResponseWriter, r *http.Request, callback func(context.Context, string) string) {
	if err := r.ParseForm(); err != nil {
		writePage(w, http.StatusBadRequest, "Sign in", "The form could not be read.")
		return
	}
	id := r.PostForm.Get("id")
	if err := p.store.completeLogin(id, r.PostForm.Get("username"), r.PostForm.Get("password")); err != nil {
		render(w, http.StatusUnauthorized, "login", pageData{Title: "Sign in", ID: id, Error: err.Error()})
		return
	}
	http.Redirect(w, r, callback(r.Context(), id), http.StatusFound)
}

func (p *Provider) devicePage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	if code == "" {
		render(w, http.StatusOK, "usercode", pageData{Title: "Sign in a device"})
		return
	}
	if _, ok := p.store.deviceByUserCode(code); !ok {
		render(w, http.StatusNotFound, "usercode", pageData{Title: "Sign in a device", Error: "That code is unknown or has expired."})
		return
	}
	render(w, http.StatusOK, "devicelogin", pageData{Title: "Sign in a device", UserCode: code})
}

func (p *Provider) deviceLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writePage(w, http.StatusBadRequest, "Sign in a device", "The form could not be read.")
		return
	}
	code := r.PostForm.Get("user_code")
	st, ok := p.store.deviceByUserCode(code)
	if !ok {
		render(w, http.StatusNotFound, "usercode", pageData{Title: "Sign in a device", Error: "That code is unknown or has expired."})
		return
	}
	sub, err := p.store.checkPassword(r.PostForm.Get("username"), r.PostForm.Get("password"))
	if err != nil {
		render(w, http.StatusUnauthorized, "devicelogin", pageData{Title: "Sign in a device", UserCode: code, Error: err.Error()})
		return
	}
	render(w, http.StatusOK, "confirm", pageData{
		Title: "Allow this device?", UserCode: code, ClientID: st.ClientID, User: sub,
		Approval: p.store.newApproval(code, sub),
	})
}

func (p *Provider) deviceConfirm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writePage(w, http.StatusBadRequest, "Sign in a device", "The form could not be read.")
		return
	}
	var allow bool
	switch r.PostForm.Get("action") {
	case "allow":
		allow = true
	case "deny":
	default:
		writePage(w, http.StatusBadRequest, "Sign in a device", `Choose "Allow" or "Deny".`)
		return
	}
	if err := p.store.decideDevice(r.PostForm.Get("approval"), allow); err != nil {
		writePage(w, http.StatusBadRequest, "Sign in a device", err.Error())
		return
	}
	if allow {
		writePage(w, http.StatusOK, "Device allowed", "The device is signed in. You can close this page and return to it.")
		return
	}
	writePage(w, http.StatusOK, "Device denied", "The device was not signed in. You can close this page.")
}
