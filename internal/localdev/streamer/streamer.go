// Package streamer reads a DynamoDB Local table's stream, as Lambda's event
// source mapping reads a table's stream in AWS, and hands each batch of
// records, in aws-lambda-go's event type, to a stream consumer's handler:
// so `make run` publishes audit events through the very handler the
// deployed function runs (internal/eventbus). Like the event source
// mapping it retries a batch from the first record the handler reports as
// failed.
package streamer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Handler is a stream consumer's handler.
type Handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Streamer follows one table's stream from the moment it starts.
type Streamer struct {
	client *dynamodbstreams.Client
	arn    string
	handle Handler
	log    *slog.Logger
	// iters holds the next iterator of each open shard followed; known
	// every shard seen, so that a shard found later is read from its start.
	iters map[string]*string
	known map[string]bool
	// last is the sequence number of the last record handed on, by shard.
	last map[string]string
	// Interval is the pause between reads of the stream.
	Interval time.Duration
}

// Start begins following the stream of table at the DynamoDB Local at
// endpoint: every record written after Start returns is handed to handle.
// Run then reads.
func Start(ctx context.Context, db *dynamodb.Client, endpoint, table string, handle Handler, log *slog.Logger) (*Streamer, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", table, err)
	}
	if out.Table.LatestStreamArn == nil {
		return nil, fmt.Errorf("table %s has no stream", table)
	}
	s := &Streamer{
		client: dynamodbstreams.New(dynamodbstreams.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		}),
		arn: *out.Table.LatestStreamArn, handle: handle, log: log,
		iters: map[string]*string{}, known: map[string]bool{}, last: map[string]string{}, Interval: 100 * time.Millisecond,
	}
	shards, err := s.shards(ctx)
	if err != nil {
		return nil, err
	}
	for _, sh := range shards {
		s.known[*sh.ShardId] = true
		if sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil {
			continue // closed: all it holds was written before
		}
		it, err := s.iterator(ctx, *sh.ShardId, types.ShardIteratorTypeLatest, nil)
		if err != nil {
			return nil, err
		}
		s.iters[*sh.ShardId] = it
	}
	return s, nil
}

// Run reads the stream until ctx ends.
func (s *Streamer) Run(ctx context.Context) {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n%10 == 0 {
			if err := s.discover(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "stream: list shards", "error", err)
			}
		}
		for id := range s.iters {
			if err := s.read(ctx, id); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "stream: read shard", "shard", id, "error", err)
			}
		}
	}
}

// discover follows the shards opened since the last look, from their start.
func (s *Streamer) discover(ctx context.Context) error {
	shards, err := s.shards(ctx)
	if err != nil {
		return err
	}
	for _, sh := range shards {
		if s.known[*sh.ShardId] {
			continue
		}
		it, err := s.iterator(ctx, *sh.ShardId, types.ShardIteratorTypeTrimHorizon, nil)
		if err != nil {
			return err
		}
		s.known[*sh.ShardId] = true
		s.iters[*sh.ShardId] = it
	}
	return nil
}

// read hands the shard's next records to the handler; on reported
// failures the shard is read again from the first failed record.
func (s *Streamer) read(ctx context.Context, id string) error {
	out, err := s.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: s.iters[id], Limit: aws.Int32(100)})
	if err != nil {
		// An iterator that expired or was trimmed is taken anew: after
		// the last record handed on, else from the shard's start (a
		// record handed on twice is allowed: delivery is at least once).
		typ, seq := types.ShardIteratorTypeTrimHorizon, (*string)(nil)
		if last, ok := s.last[id]; ok {
			typ, seq = types.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
		}
		if it, ierr := s.iterator(ctx, id, typ, seq); ierr == nil {
			s.iters[id] = it
		}
		return err
	}
	if len(out.Records) > 0 {
		ev := events.DynamoDBEvent{}
		for _, r := range out.Records {
			ev.Records = append(ev.Records, record(r, s.arn))
		}
		resp, err := s.handle(ctx, ev)
		var first *string
		switch {
		case err != nil:
			first = out.Records[0].Dynamodb.SequenceNumber
		case len(resp.BatchItemFailures) > 0:
			first = aws.String(resp.BatchItemFailures[0].ItemIdentifier)
			for _, f := range resp.BatchItemFailures[1:] {
				if less(f.ItemIdentifier, *first) {
					first = aws.String(f.ItemIdentifier)
				}
			}
		}
		if first != nil {
			it, err := s.iterator(ctx, id, types.ShardIteratorTypeAtSequenceNumber, first)
			if err != nil {
				return err
			}
			s.iters[id] = it
			return fmt.Errorf("handler failed from record %s; retrying", *first)
		}
		s.last[id] = aws.ToString(out.Records[len(out.Records)-1].Dynamodb.SequenceNumber)
	}
	if out.NextShardIterator == nil {
		delete(s.iters, id) // the shard is closed and read to its end
		return nil
	}
	s.iters[id] = out.NextShardIterator
	return nil
}

// less compares sequence numbers: decimal strings of any length.
func less(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (s *Streamer) shards(ctx context.Context) ([]types.Shard, error) {
	var shards []types.Shard
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(s.arn)}
	for {
		out, err := s.client.DescribeStream(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe stream: %w", err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return shards, nil
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
}

func (s *Streamer) iterator(ctx context.Context, shard string, typ types.ShardIteratorType, seq *string) (*string, error) {
	out, err := s.client.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(s.arn), ShardId: aws.String(shard), ShardIteratorType: typ, SequenceNumber: seq,
	})
	if err != nil {
		return nil, fmt.Errorf("shard iterator: %w", err)
	}
	return out.ShardIterator, nil
}

// record is r as Lambda hands it to a function.
func record(r types.Record, arn string) events.DynamoDBEventRecord {
	out := events.DynamoDBEventRecord{
		EventID: aws.ToString(r.EventID), EventName: string(r.EventName), EventSource: "aws:dynamodb",
		EventVersion: aws.ToString(r.EventVersion), AWSRegion: "us-east-1", EventSourceArn: arn,
	}
	if d := r.Dynamodb; d != nil {
		out.Change = events.DynamoDBStreamRecord{
			Keys: image(d.Keys), NewImage: image(d.NewImage), OldImage: image(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber), StreamViewType: string(d.StreamViewType),
		}
		if d.SizeBytes != nil {
			out.Change.SizeBytes = *d.SizeBytes
		}
	}
	if u := r.UserIdentity; u != nil {
		out.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(u.Type), PrincipalID: aws.ToString(u.PrincipalId)}
	}
	return out
}

func image(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = value(v)
	}
	return out
}

func value(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, 0, len(v.Value))
		for _, e := range v.Value {
			l = append(l, value(e))
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(image(v.Value))
	}
	return events.NewNullAttribute()
}
