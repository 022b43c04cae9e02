package store

import (
	"errors"

	"github.com/tokensmith/tokensmith/internal/ddbclient"
)

// EnvTable names the variable that holds a function's table name.
const EnvTable = "TABLE_NAME"

// FromEnv returns a function's store: the table EnvTable names, through the
// client ddbclient.New builds from the same environment.
func FromEnv(getenv func(string) string) (*Store, error) {
	table := getenv(EnvTable)
	if table == "" {
		return nil, errors.New("environment variable " + EnvTable + " is not set")
	}
	db, err := ddbclient.New(getenv)
	if err != nil {
		return nil, err
	}
	return New(db, table), nil
}
