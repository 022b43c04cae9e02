package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith/internal/store"
)

// admin is a table that does not exist until it is created, whose
// UpdateTimeToLive is refused with refusal, and whose TTL is then as
// described.
type admin struct {
	refusal error
	ttl     *types.TimeToLiveDescription
	created bool
}

func (a *admin) DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	if !a.created {
		return nil, &types.ResourceNotFoundException{}
	}
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{TableStatus: types.TableStatusActive}}, nil
}

func (a *admin) CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	a.created = true
	return &dynamodb.CreateTableOutput{}, nil
}

func (a *admin) UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	return &dynamodb.UpdateTimeToLiveOutput{}, a.refusal
}

func (a *admin) DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error) {
	return &dynamodb.DescribeTimeToLiveOutput{TimeToLiveDescription: a.ttl}, nil
}

// TestEnsureTableTTLRetried holds that a refused UpdateTimeToLive is an
// error only when TTL is not on for the attribute: a client's retry of a
// call that took effect is refused with "TimeToLive is already enabled".
func TestEnsureTableTTLRetried(t *testing.T) {
	already := errors.New("ValidationException: TimeToLive is already enabled")
	tests := []struct {
		name    string
		refusal error
		ttl     *types.TimeToLiveDescription
		wantErr bool
	}{
		{"accepted", nil, nil, false},
		{"refused, already enabled", already, &types.TimeToLiveDescription{AttributeName: aws.String("expiresAt"), TimeToLiveStatus: types.TimeToLiveStatusEnabled}, false},
		{"refused, enabling", already, &types.TimeToLiveDescription{AttributeName: aws.String("expiresAt"), TimeToLiveStatus: types.TimeToLiveStatusEnabling}, false},
		{"refused, on for another attribute", already, &types.TimeToLiveDescription{AttributeName: aws.String("other"), TimeToLiveStatus: types.TimeToLiveStatusEnabled}, true},
		{"refused, off", errors.New("throttled"), &types.TimeToLiveDescription{TimeToLiveStatus: types.TimeToLiveStatusDisabled}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &admin{refusal: tc.refusal, ttl: tc.ttl}
			in := &dynamodb.CreateTableInput{TableName: aws.String("t")}
			err := store.EnsureTable(context.Background(), db, in, "expiresAt")
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Errorf("EnsureTable() = %v; want an error: %v", err, tc.wantErr)
			}
		})
	}
}
