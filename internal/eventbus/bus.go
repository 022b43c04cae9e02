package eventbus

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// PutEvents limits (EventBridge's PutEvents reference): entries a call, and
// bytes a call, counted as "Calculating PutEvents event entry size" says.
const (
	MaxEntries   = 10
	MaxCallBytes = 256 * 1024
)

// PutEventsAPI is the call Bus makes, with the SDK's signature.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Bus publishes to the EventBridge bus Name.
type Bus struct {
	API  PutEventsAPI
	Name string
}

// entrySize is an entry's size as EventBridge counts it against
// MaxCallBytes: 14 bytes for the time, and the UTF-8 bytes of the source,
// the detail-type and the detail.
func entrySize(e Entry) int {
	return 14 + len(Source) + len(e.DetailType) + len(e.Detail)
}

// Publish sends entries in calls of at most MaxEntries entries and
// MaxCallBytes bytes; an entry too large for any call is refused without a
// call.
func (b *Bus) Publish(ctx context.Context, entries []Entry) []error {
	errs := make([]error, len(entries))
	var batch []int
	size := 0
	flush := func() {
		if len(batch) > 0 {
			b.put(ctx, entries, batch, errs)
		}
		batch, size = nil, 0
	}
	for i, e := range entries {
		n := entrySize(e)
		if n > MaxCallBytes || !utf8.Valid(e.Detail) {
			errs[i] = fmt.Errorf("eventbus: entry of %d bytes cannot be published (at most %d, UTF-8)", n, MaxCallBytes)
			continue
		}
		if len(batch) == MaxEntries || size+n > MaxCallBytes {
			flush()
		}
		batch = append(batch, i)
		size += n
	}
	flush()
	return errs
}

// put makes one PutEvents call of the entries at idx and records each one's
// outcome in errs.
func (b *Bus) put(ctx context.Context, entries []Entry, idx []int, errs []error) {
	in := &eventbridge.PutEventsInput{}
	for _, i := range idx {
		e := entries[i]
		in.Entries = append(in.Entries, types.PutEventsRequestEntry{
			EventBusName: aws.String(b.Name), Source: aws.String(Source), DetailType: aws.String(e.DetailType),
			Detail: aws.String(string(e.Detail)), Time: aws.Time(e.Time),
		})
	}
	out, err := b.API.PutEvents(ctx, in)
	if err == nil && len(out.Entries) != len(idx) {
		err = fmt.Errorf("eventbus: PutEvents answered %d entries for %d", len(out.Entries), len(idx))
	}
	if err != nil {
		for _, i := range idx {
			errs[i] = fmt.Errorf("put events: %w", err)
		}
		return
	}
	// The answer's entries are in the order of the request's.
	for k, i := range idx {
		if r := out.Entries[k]; r.ErrorCode != nil || r.EventId == nil {
			errs[i] = errors.New("put events: entry refused: " + aws.ToString(r.ErrorCode) + ": " + aws.ToString(r.ErrorMessage))
		}
	}
}
