// Package deploy holds the files chainwire ships: the systemd units, the
// example configuration, and the northbound database schema, which this
// package also embeds for the tools and tests that create databases.
package deploy

import _ "embed"

// NBSchema is chainwire_nb.ovsschema, the schema of the Chainwire_NB
// database.
//
//go:embed chainwire_nb.ovsschema
var NBSchema []byte

// NBScript is chainwire-nb, which creates, joins, serves and upgrades the
// database (the lab runs it as shipped).
//
//go:embed chainwire-nb
var NBScript []byte
