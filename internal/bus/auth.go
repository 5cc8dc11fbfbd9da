package bus

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// selfUser is the user name of whistle's own connection to the embedded
// server when Config.Auth is set.
const selfUser = "whistle"

// clientAuth is the embedded server's custom authentication: whistle's own
// connection by its random password, everyone else through Config.Auth.
type clientAuth struct {
	selfPassword string
	check        func(username, password string) ([]string, bool)
}

func newClientAuth(check func(string, string) ([]string, bool)) (*clientAuth, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &clientAuth{selfPassword: base64.RawURLEncoding.EncodeToString(b), check: check}, nil
}

// Check implements server.Authentication.
func (a *clientAuth) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if c.Kind() != server.CLIENT {
		return false
	}
	if o.Username == selfUser {
		if subtle.ConstantTimeCompare([]byte(o.Password), []byte(a.selfPassword)) != 1 {
			return false
		}
		c.RegisterUser(&server.User{Username: selfUser})
		return true
	}
	pub, ok := a.check(o.Username, o.Password)
	if !ok {
		return false
	}
	c.RegisterUser(&server.User{Username: o.Username, Permissions: &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Deny: []string{">"}},
	}})
	return true
}

// JetStream returns the JetStream API of a NATS bus (embedded or external);
// a bus without JetStream (Memory) is an error.
func JetStream(b Bus) (jetstream.JetStream, error) {
	nb, ok := b.(*natsBus)
	if !ok {
		return nil, errors.New("bus: JetStream needs a NATS bus")
	}
	return jetstream.New(nb.nc)
}

// Conn returns the NATS connection of a NATS bus, or nil.
func Conn(b Bus) *nats.Conn {
	if nb, ok := b.(*natsBus); ok {
		return nb.nc
	}
	return nil
}

// Disconnect closes the embedded server's live connections of a user (a
// revoked device) and returns how many; 0 on an external server, whose
// connections the cluster's own authentication governs.
func Disconnect(b Bus, username string) int {
	nb, ok := b.(*natsBus)
	if !ok || nb.srv == nil || username == "" || username == selfUser {
		return 0
	}
	cz, err := nb.srv.Connz(&server.ConnzOptions{User: username, Limit: 1024})
	if err != nil {
		return 0
	}
	n := 0
	for _, ci := range cz.Conns {
		if nb.srv.DisconnectClientByID(ci.Cid) == nil {
			n++
		}
	}
	return n
}
