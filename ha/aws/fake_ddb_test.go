package aws

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// fakeDDB is a function-field fake of dynamoAPI for the lease tests: a
// nil field answers an error saying the call was not expected. Every
// call is recorded (operation name and input) before its function runs;
// delay holds each call that long (or until its context ends).
type fakeDDB struct {
	get      func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
	put      func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error)
	update   func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error)
	describe func(*dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error)
	delay    time.Duration

	mu    sync.Mutex
	calls []fakeDDBCall
}

// fakeDDBCall is one recorded call.
type fakeDDBCall struct {
	Op string
	In any
}

var errFakeDDBUnexpected = errors.New("fake: call not expected by this test")

func (f *fakeDDB) record(ctx context.Context, op string, in any) error {
	f.mu.Lock()
	f.calls = append(f.calls, fakeDDBCall{op, in})
	f.mu.Unlock()
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return ctx.Err()
}

// ops returns the operations called so far, in order.
func (f *fakeDDB) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s []string
	for _, c := range f.calls {
		s = append(s, c.Op)
	}
	return s
}

// last returns the input of the last call of op (nil if none).
func (f *fakeDDB) last(op string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].Op == op {
			return f.calls[i].In
		}
	}
	return nil
}

func (f *fakeDDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if err := f.record(ctx, "GetItem", in); err != nil {
		return nil, err
	}
	if f.get == nil {
		return nil, errFakeDDBUnexpected
	}
	return f.get(in)
}

func (f *fakeDDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := f.record(ctx, "PutItem", in); err != nil {
		return nil, err
	}
	if f.put == nil {
		return nil, errFakeDDBUnexpected
	}
	return f.put(in)
}

func (f *fakeDDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := f.record(ctx, "UpdateItem", in); err != nil {
		return nil, err
	}
	if f.update == nil {
		return nil, errFakeDDBUnexpected
	}
	return f.update(in)
}

func (f *fakeDDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	_ = f.record(ctx, "DeleteItem", in)
	return nil, errFakeDDBUnexpected // a Lease never deletes
}

func (f *fakeDDB) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	if err := f.record(ctx, "DescribeTable", in); err != nil {
		return nil, err
	}
	if f.describe == nil {
		return nil, errFakeDDBUnexpected
	}
	return f.describe(in)
}

// fakeDDBCondFailed is DynamoDB's failed condition, with the old item when
// ALL_OLD was asked for (nil: none returned).
func fakeDDBCondFailed(old map[string]ddbtypes.AttributeValue) error {
	msg := "The conditional request failed"
	return &ddbtypes.ConditionalCheckFailedException{Message: &msg, Item: old}
}

// fakeDDBAPIError is an AWS error with a code and message.
func fakeDDBAPIError(code, msg string, fault smithy.ErrorFault) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
}

// fakeFenceEC2 is a function-field fake of the EC2 calls a Fence makes;
// the embedded nil ec2API makes any other call panic.
type fakeFenceEC2 struct {
	ec2API
	describe func(id string) (ec2types.InstanceStateName, error) // "" = not found
	stop     func(*ec2.StopInstancesInput) error

	mu        sync.Mutex
	stops     []*ec2.StopInstancesInput
	describes []string
}

func (f *fakeFenceEC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(in.InstanceIds) != 1 {
		return nil, errors.New("fake: want one instance ID")
	}
	id := in.InstanceIds[0]
	f.mu.Lock()
	f.describes = append(f.describes, id)
	f.mu.Unlock()
	st, err := f.describe(id)
	if err != nil {
		return nil, err
	}
	if st == "" {
		return nil, fakeDDBAPIError("InvalidInstanceID.NotFound", "The instance ID '"+id+"' does not exist", smithy.FaultClient)
	}
	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{{
		InstanceId: &id, State: &ec2types.InstanceState{Name: st},
	}}}}}, nil
}

func (f *fakeFenceEC2) StopInstances(ctx context.Context, in *ec2.StopInstancesInput, _ ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.stops = append(f.stops, in)
	f.mu.Unlock()
	if f.stop == nil {
		return &ec2.StopInstancesOutput{}, nil
	}
	return &ec2.StopInstancesOutput{}, f.stop(in)
}

// counts returns how many StopInstances and DescribeInstances calls
// were made.
func (f *fakeFenceEC2) counts() (stops, describes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.stops), len(f.describes)
}
