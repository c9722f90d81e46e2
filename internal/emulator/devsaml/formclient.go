package devsaml

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Form is an HTML form as a browser would submit it: its action (resolved
// against the page URL), method and the values of its fields.
type Form struct {
	Action string
	Method string
	Values url.Values
	// Inputs counts the form's <input> elements by type ("text", "password",
	// "submit", "hidden", …); an input without a type counts as "text".
	Inputs map[string]int
}

// LogIn plays the browser through the dev IdP without a browser: it follows
// startURL (the URL a login opens), fills the login form with user and
// password, submits it, and returns the auto-submitting form the IdP answers
// with (the SAMLResponse and RelayState for the ACS), unsent. client must keep
// cookies (a cookie jar) and follow redirects.
func LogIn(ctx context.Context, client *http.Client, startURL, user, password string) (*Form, error) {
	page, pageURL, err := get(ctx, client, startURL)
	if err != nil {
		return nil, err
	}
	login, err := ParseForm(page, pageURL)
	if err != nil {
		return nil, fmt.Errorf("login page: %w", err)
	}
	if login.Inputs["password"] == 0 && login.Values.Get("SAMLRequest") != "" {
		// A page that posts the AuthnRequest (HTTP-POST binding), as its
		// script would: the IdP answers with its login page.
		if page, pageURL, err = Submit(ctx, client, login); err != nil {
			return nil, err
		}
		if login, err = ParseForm(page, pageURL); err != nil {
			return nil, fmt.Errorf("login page: %w", err)
		}
	}
	if login.Inputs["password"] != 1 {
		return nil, errors.New("login page: no password field")
	}
	login.Values.Set("user", user)
	login.Values.Set("password", password)
	body, bodyURL, err := Submit(ctx, client, login)
	if err != nil {
		return nil, err
	}
	next, err := ParseForm(body, bodyURL)
	if err != nil {
		return nil, fmt.Errorf("after the login form: %w", err)
	}
	if next.Values.Get("SAMLResponse") == "" {
		return nil, errors.New("after the login form: no SAMLResponse form (wrong password?)")
	}
	return next, nil
}

// Submit sends f as a browser would and returns the final page and its URL.
func Submit(ctx context.Context, client *http.Client, f *Form) (body []byte, finalURL *url.URL, err error) {
	var req *http.Request
	if strings.EqualFold(f.Method, http.MethodGet) {
		u, err := url.Parse(f.Action)
		if err != nil {
			return nil, nil, err
		}
		u.RawQuery = f.Values.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, nil, err
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, f.Action, strings.NewReader(f.Values.Encode()))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return do(client, req)
}

func get(ctx context.Context, client *http.Client, u string) ([]byte, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	return do(client, req)
}

func do(client *http.Client, req *http.Request) ([]byte, *url.URL, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return body, resp.Request.URL, fmt.Errorf("%s %s: HTTP %d", req.Method, resp.Request.URL.Redacted(), resp.StatusCode)
	}
	return body, resp.Request.URL, nil
}

// ParseForm reads the first <form> of an HTML page served at base.
func ParseForm(page []byte, base *url.URL) (*Form, error) {
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		return nil, err
	}
	var form *html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		if form != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" {
			form = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if form == nil {
		return nil, errors.New("no form on the page")
	}
	f := &Form{Method: http.MethodGet, Values: url.Values{}, Inputs: map[string]int{}}
	action := ""
	for _, a := range form.Attr {
		switch a.Key {
		case "action":
			action = a.Val
		case "method":
			f.Method = strings.ToUpper(a.Val)
		}
	}
	u, err := base.Parse(action)
	if err != nil {
		return nil, fmt.Errorf("form action: %w", err)
	}
	f.Action = u.String()
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			typ, name, value := "text", "", ""
			for _, a := range n.Attr {
				switch a.Key {
				case "type":
					typ = strings.ToLower(a.Val)
				case "name":
					name = a.Val
				case "value":
					value = a.Val
				}
			}
			f.Inputs[typ]++
			if name != "" && typ != "submit" {
				f.Values.Set(name, value)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return f, nil
}
