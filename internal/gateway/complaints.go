package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/complaint"
	"github.com/qiao-gateway/qiao/internal/server"
)

// complaintView is a complaint as the API shows it. The text is echoed only to staff.
type complaintView struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	State     string     `json:"state"`
	Region    string     `json:"region"`
	Category  string     `json:"category,omitempty"`
	RequestID string     `json:"request_id,omitempty"`
	ProduceID string     `json:"produce_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	Deadline  time.Time  `json:"deadline"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	Note      string     `json:"note,omitempty"`
	Contact   string     `json:"contact,omitempty"`
	Body      string     `json:"body,omitempty"`
}

func viewOf(c complaint.Complaint, contact string, withBody bool) complaintView {
	v := complaintView{ID: c.ID, Object: "complaint", State: string(c.State), Region: c.Region, Category: c.Category,
		RequestID: c.RequestID, ProduceID: c.ProduceID, CreatedAt: c.CreatedAt, Deadline: c.Deadline,
		ClosedAt: c.ClosedAt, Note: c.Note, Contact: contact}
	if withBody {
		v.Body = c.Body
	}
	return v
}

// complaints serves the complaint channel: users file and follow complaints with their API
// key; staff move them through their states with the admin token.
type complaints struct {
	services map[string]*complaint.Service // by region
	contacts map[string]string
	token    string // admin bearer token; empty disables the admin endpoints
}

func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return apierr.BadRequest("body_read_failed", "could not read the request body").WithCause(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apierr.BadRequest("invalid_json", "malformed or unexpected JSON: "+err.Error()).WithCause(err)
	}
	return nil
}

func (c *complaints) file(w http.ResponseWriter, r *http.Request, ex *server.Exchange) error {
	var in struct {
		Body      string `json:"body"`
		Category  string `json:"category"`
		RequestID string `json:"request_id"`
		ProduceID string `json:"produce_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	got, err := c.services[ex.Region].File(r.Context(), complaint.Filing{
		Tenant: ex.Key.Tenant, KeyID: ex.Key.ID, Region: ex.Region,
		RequestID: in.RequestID, ProduceID: in.ProduceID, Category: in.Category, Body: in.Body,
	})
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusCreated, viewOf(got, c.contacts[ex.Region], false))
}

func (c *complaints) get(w http.ResponseWriter, r *http.Request, ex *server.Exchange) error {
	got, err := c.services[ex.Region].Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if got.Tenant != ex.Key.Tenant || got.Region != ex.Region {
		// Another tenant's (or region's) complaint does not exist, as far as this caller
		// can tell: a CN complaint is not readable through an EU or US endpoint.
		return apierr.New(http.StatusNotFound, apierr.TypeNotFound, "complaint_not_found", "No complaint with that id.")
	}
	return server.WriteJSON(w, http.StatusOK, viewOf(got, c.contacts[ex.Region], false))
}

// admin wraps an admin handler with the admin token check and the error writer.
func (c *complaints) admin(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := c.authorize(r)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			apierr.Write(w, err)
		}
	})
}

func (c *complaints) authorize(r *http.Request) error {
	if c.token == "" {
		return apierr.New(http.StatusForbidden, apierr.TypePermission, "admin_disabled",
			"the admin API is disabled: set the admin token variable (server.admin_token_env) to enable it")
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(c.token)) != 1 {
		return apierr.New(http.StatusUnauthorized, apierr.TypeAuthentication, "invalid_admin_token", "invalid admin token")
	}
	return nil
}

func (c *complaints) service(region string) (*complaint.Service, error) {
	s, ok := c.services[strings.ToUpper(region)]
	if !ok {
		return nil, apierr.BadRequest("invalid_region", "unknown region; add ?region=CN").WithParam("region")
	}
	return s, nil
}

func (c *complaints) adminGet(w http.ResponseWriter, r *http.Request) error {
	s, err := c.service(r.URL.Query().Get("region"))
	if err != nil {
		return err
	}
	got, err := s.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusOK, viewOf(got, c.contacts[got.Region], true))
}

func (c *complaints) adminTransition(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		State string `json:"state"`
		Note  string `json:"note"`
		Actor string `json:"actor"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	s, err := c.service(r.URL.Query().Get("region"))
	if err != nil {
		return err
	}
	actor := in.Actor
	if actor == "" {
		actor = "admin"
	}
	got, err := s.Transition(r.Context(), r.PathValue("id"), complaint.State(in.State), actor, in.Note)
	if err != nil {
		return err
	}
	return server.WriteJSON(w, http.StatusOK, viewOf(got, c.contacts[got.Region], true))
}
