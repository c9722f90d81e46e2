// Package devoptest drives the dev OpenID provider's HTML pages with a plain Go
// HTTP client, as a user in a browser would: fill and submit the login form,
// enter a device code and allow or deny it. Tests only; no browser needed.
package devoptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Browser is a cookie-keeping HTTP client that follows redirects.
type Browser struct {
	Client   *http.Client
	User     string
	Password string
	// Rewrite, when set, may replace the target of each redirect before it is
	// followed (return nil to keep it): the way a test tampers with the state
	// or the code on their way back to the loopback listener.
	Rewrite func(*url.URL) *url.URL
}

// New returns a Browser that logs in as user with password.
func New(user, password string) *Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	b := &Browser{User: user, Password: password}
	b.Client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		if b.Rewrite != nil {
			if u := b.Rewrite(req.URL); u != nil {
				req.URL, req.Host = u, u.Host
			}
		}
		return nil
	}}
	return b
}

// Page is a fetched HTML page.
type Page struct {
	URL    *url.URL
	Status int
	Body   string
}

// Get fetches u.
func (b *Browser) Get(ctx context.Context, u string) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

func (b *Browser) do(req *http.Request) (*Page, error) {
	resp, err := b.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &Page{URL: resp.Request.URL, Status: resp.StatusCode, Body: string(body)}, nil
}

// Login opens authURL (the provider's authorization URL), fills the login form
// with the user name and password, submits it and follows the redirects, which
// end at the client's redirect URI; it returns that last page.
func (b *Browser) Login(ctx context.Context, authURL string) (*Page, error) {
	p, err := b.Get(ctx, authURL)
	if err != nil {
		return nil, err
	}
	if p.Status != http.StatusOK {
		return p, fmt.Errorf("the authorization URL answered %d: %s", p.Status, p.Body)
	}
	return b.Submit(ctx, p, "")
}

// ApproveDevice opens the device page for a code (verification_uri_complete),
// signs in and allows (or denies) the device; it returns the final page.
func (b *Browser) ApproveDevice(ctx context.Context, completeURI string, allow bool) (*Page, error) {
	p, err := b.Get(ctx, completeURI)
	if err != nil {
		return nil, err
	}
	if p.Status != http.StatusOK {
		return p, fmt.Errorf("the device page answered %d: %s", p.Status, p.Body)
	}
	if p, err = b.Submit(ctx, p, ""); err != nil {
		return p, err
	}
	if p.Status != http.StatusOK {
		return p, fmt.Errorf("the device sign-in answered %d: %s", p.Status, p.Body)
	}
	action := "deny"
	if allow {
		action = "allow"
	}
	return b.Submit(ctx, p, action)
}

// Submit fills the page's one form (text field: user name, password field:
// password, hidden fields as they are) and submits it with the button whose
// value is button ("" for the only or first one).
func (b *Browser) Submit(ctx context.Context, p *Page, button string) (*Page, error) {
	f, err := ParseForm(p.Body)
	if err != nil {
		return p, err
	}
	vals := url.Values{}
	for _, in := range f.Inputs {
		switch in.Type {
		case "text":
			vals.Set(in.Name, b.User)
		case "password":
			vals.Set(in.Name, b.Password)
		case "hidden":
			vals.Set(in.Name, in.Value)
		}
	}
	for _, bt := range f.Buttons {
		if button == "" || bt.Value == button {
			if bt.Name != "" {
				vals.Set(bt.Name, bt.Value)
			}
			break
		}
	}
	action, err := p.URL.Parse(f.Action)
	if err != nil {
		return p, err
	}
	var req *http.Request
	if strings.EqualFold(f.Method, http.MethodPost) {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		action.RawQuery = vals.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, action.String(), nil)
	}
	if err != nil {
		return p, err
	}
	return b.do(req)
}

// Form is the one form of a page.
type Form struct {
	Action, Method string
	Inputs         []Field // <input> elements
	Buttons        []Field // <button> elements (Type is the button's type)
}

// Field is an input or a button.
type Field struct{ Type, Name, Value string }

// ParseForm reads the single <form> of an HTML page.
func ParseForm(body string) (*Form, error) {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	var forms []*Form
	var cur *Form
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch n.Data {
			case "form":
				cur = &Form{Action: attr("action"), Method: attr("method")}
				forms = append(forms, cur)
			case "input":
				if cur != nil {
					t := attr("type")
					if t == "" {
						t = "text"
					}
					cur.Inputs = append(cur.Inputs, Field{Type: t, Name: attr("name"), Value: attr("value")})
				}
			case "button":
				if cur != nil {
					t := attr("type")
					if t == "" {
						t = "submit"
					}
					cur.Buttons = append(cur.Buttons, Field{Type: t, Name: attr("name"), Value: attr("value")})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(forms) != 1 {
		return nil, fmt.Errorf("the page has %d forms, want 1: %.300s", len(forms), body)
	}
	return forms[0], nil
}
