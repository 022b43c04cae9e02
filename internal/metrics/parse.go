package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid wraps every way a log line fails to be a record of the
// catalogue.
var ErrInvalid = errors.New("metrics: not a record of the catalogue")

// Datum is one metric of a parsed record, with its dimensions' values and
// its value or values.
type Datum struct {
	Metric     Metric
	Dimensions map[string]string
	Values     []float64
}

// Lookup returns the catalogue's metric named name.
func Lookup(name string) (Metric, bool) {
	for _, m := range Catalog {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Parse reads one EMF log line and holds it to the catalogue: the namespace,
// each metric's unit and dimension set as Catalog declares them, every
// dimension's value one its Dimension lists (or Other), and a value for
// every metric. It returns the metrics the line records.
func Parse(line []byte) ([]Datum, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var aws struct {
		Timestamp         int64       `json:"Timestamp"`
		CloudWatchMetrics []Directive `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(obj["_aws"], &aws); err != nil || aws.Timestamp <= 0 || len(aws.CloudWatchMetrics) == 0 {
		return nil, fmt.Errorf("%w: no _aws metadata with a timestamp and directives", ErrInvalid)
	}
	var out []Datum
	for _, d := range aws.CloudWatchMetrics {
		if d.Namespace != Namespace {
			return nil, fmt.Errorf("%w: namespace %q", ErrInvalid, d.Namespace)
		}
		for _, decl := range d.Metrics {
			m, ok := Lookup(decl.Name)
			if !ok {
				return nil, fmt.Errorf("%w: metric %q is not in the catalogue", ErrInvalid, decl.Name)
			}
			if decl.Unit != m.Unit {
				return nil, fmt.Errorf("%w: %s has unit %q; the catalogue says %q", ErrInvalid, m.Name, decl.Unit, m.Unit)
			}
			names := make([]string, len(m.Dimensions))
			for i, dim := range m.Dimensions {
				names[i] = dim.Name
			}
			if len(d.Dimensions) != 1 || !slices.Equal(d.Dimensions[0], names) {
				return nil, fmt.Errorf("%w: %s has dimensions %v; the catalogue says [%s]", ErrInvalid, m.Name, d.Dimensions, strings.Join(names, " "))
			}
			datum := Datum{Metric: m, Dimensions: map[string]string{}}
			for _, dim := range m.Dimensions {
				var v string
				if err := json.Unmarshal(obj[dim.Name], &v); err != nil {
					return nil, fmt.Errorf("%w: %s: dimension %s has no string value", ErrInvalid, m.Name, dim.Name)
				}
				if v != Other && !slices.Contains(dim.Values, v) {
					return nil, fmt.Errorf("%w: %s: dimension %s = %q is not one of %v", ErrInvalid, m.Name, dim.Name, v, dim.Values)
				}
				datum.Dimensions[dim.Name] = v
			}
			var one float64
			if err := json.Unmarshal(obj[m.Name], &one); err == nil {
				datum.Values = []float64{one}
			} else if err := json.Unmarshal(obj[m.Name], &datum.Values); err != nil || len(datum.Values) == 0 {
				return nil, fmt.Errorf("%w: %s has no value", ErrInvalid, m.Name)
			}
			out = append(out, datum)
		}
	}
	return out, nil
}
