package awstest_test

import (
	"errors"
	"maps"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

type av = types.AttributeValue

func str(v string) av   { return &types.AttributeValueMemberS{Value: v} }
func num(v string) av   { return &types.AttributeValueMemberN{Value: v} }
func boolean(v bool) av { return &types.AttributeValueMemberBOOL{Value: v} }

func leaseKey(name string) map[string]av { return map[string]av{"lease": str(name)} }

func TestDescribeTable(t *testing.T) {
	c := start(t, awstest.Options{})
	c.srv.AddTable("minato-lease", "lease")
	out, err := c.ddb.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: sdkaws.String("minato-lease")})
	if err != nil {
		t.Fatal(err)
	}
	tb := out.Table
	if sdkaws.ToString(tb.TableName) != "minato-lease" || tb.TableStatus != types.TableStatusActive || len(tb.KeySchema) != 1 ||
		sdkaws.ToString(tb.KeySchema[0].AttributeName) != "lease" || tb.KeySchema[0].KeyType != types.KeyTypeHash ||
		tb.AttributeDefinitions[0].AttributeType != types.ScalarAttributeTypeS || tb.CreationDateTime == nil ||
		sdkaws.ToString(tb.TableArn) != "arn:aws:dynamodb:ap-northeast-1:123456789012:table/minato-lease" ||
		tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("table = %+v", tb)
	}
	_, err = c.ddb.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: sdkaws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", "Requested resource not found")
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("want the SDK's ResourceNotFoundException type, got %T", err)
	}
}

// A lease as the witness would keep it: acquire when free, renew by its
// holder with the epoch as a fencing token, refuse others.
func TestConditionalLease(t *testing.T) {
	c := start(t, awstest.Options{})
	c.srv.AddTable("minato-lease", "lease")
	names := map[string]string{"#o": "owner", "#e": "epoch", "#x": "expires"}
	acquire := func(owner, epoch, now, until string) error {
		_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{
			TableName:                 sdkaws.String("minato-lease"),
			Item:                      map[string]av{"lease": str("grp"), "owner": str(owner), "epoch": num(epoch), "expires": num(until), "held": boolean(true)},
			ConditionExpression:       sdkaws.String("attribute_not_exists(lease) OR #x < :now OR (#o = :me AND #e <= :epoch)"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: map[string]av{":now": num(now), ":me": str(owner), ":epoch": num(epoch)},
		})
		return err
	}
	if err := acquire("node1", "1", "100", "110"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"lease": "grp", "owner": "node1", "epoch": "1", "expires": "110", "held": "true"}
	if got := c.srv.Item("minato-lease", "grp"); !maps.Equal(got, want) {
		t.Fatalf("item = %v", got)
	}
	// Another node while the lease runs: refused with AWS's text.
	err := acquire("node2", "2", "105", "115")
	wantAPIError(t, err, "ConditionalCheckFailedException", "The conditional request failed")
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("want the SDK's ConditionalCheckFailedException type, got %T", err)
	}
	// Numbers compare as numbers: "99" < "100" numerically, not as text.
	if err := acquire("node2", "2", "99", "115"); err == nil {
		t.Fatal("99 compared as text")
	}
	// After expiry another node takes it.
	if err := acquire("node2", "2", "111", "121"); err != nil {
		t.Fatal(err)
	}

	// Renew with UpdateItem, epoch fenced; ALL_NEW returns the item.
	up, err := c.ddb.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
		TableName:                 sdkaws.String("minato-lease"),
		Key:                       leaseKey("grp"),
		UpdateExpression:          sdkaws.String("SET #x = :until, renewals = :one REMOVE held"),
		ConditionExpression:       sdkaws.String("#o = :me AND #e = :epoch"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner", "#e": "epoch", "#x": "expires"},
		ExpressionAttributeValues: map[string]av{":until": num("130"), ":me": str("node2"), ":epoch": num("2"), ":one": num("1")},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	if x := up.Attributes["expires"].(*types.AttributeValueMemberN).Value; x != "130" {
		t.Fatalf("ALL_NEW expires = %s", x)
	}
	if _, ok := up.Attributes["held"]; ok {
		t.Fatal("REMOVE held did not remove it")
	}
	// Arithmetic, UPDATED_OLD / UPDATED_NEW.
	up, err = c.ddb.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
		TableName: sdkaws.String("minato-lease"), Key: leaseKey("grp"),
		UpdateExpression:          sdkaws.String("SET renewals = renewals + :one, #e = #e - :half"),
		ExpressionAttributeNames:  map[string]string{"#e": "epoch"},
		ExpressionAttributeValues: map[string]av{":one": num("1"), ":half": num("0.5")},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Attributes) != 2 || up.Attributes["renewals"].(*types.AttributeValueMemberN).Value != "2" || up.Attributes["epoch"].(*types.AttributeValueMemberN).Value != "1.5" {
		t.Fatalf("UPDATED_NEW = %v", up.Attributes)
	}
	// The old holder, fenced by its epoch, fails and gets the item back when asking.
	_, err = c.ddb.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
		TableName: sdkaws.String("minato-lease"), Key: leaseKey("grp"),
		UpdateExpression:                    sdkaws.String("SET #x = :until"),
		ConditionExpression:                 sdkaws.String("#o = :me"),
		ExpressionAttributeNames:            map[string]string{"#o": "owner", "#x": "expires"},
		ExpressionAttributeValues:           map[string]av{":until": num("999"), ":me": str("node1")},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if !errors.As(err, &ccf) || ccf.Item["owner"].(*types.AttributeValueMemberS).Value != "node2" {
		t.Fatalf("fenced update: %v (item %v)", err, ccf)
	}

	got, err := c.ddb.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: sdkaws.String("minato-lease"), Key: leaseKey("grp"), ConsistentRead: sdkaws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Item["owner"].(*types.AttributeValueMemberS).Value != "node2" || got.Item["expires"].(*types.AttributeValueMemberN).Value != "130" {
		t.Fatalf("GetItem = %v", got.Item)
	}
	none, err := c.ddb.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: sdkaws.String("minato-lease"), Key: leaseKey("other")})
	if err != nil || none.Item != nil {
		t.Fatalf("missing item = %v, %v", none.Item, err)
	}

	// Release: conditional delete, ALL_OLD.
	del, err := c.ddb.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{
		TableName: sdkaws.String("minato-lease"), Key: leaseKey("grp"),
		ConditionExpression:       sdkaws.String("#o = :me"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]av{":me": str("node2")},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if err != nil || del.Attributes["owner"].(*types.AttributeValueMemberS).Value != "node2" {
		t.Fatalf("DeleteItem = %v, %v", del, err)
	}
	if c.srv.Item("minato-lease", "grp") != nil {
		t.Fatal("item still there")
	}
	// UpdateItem on a missing item creates it (upsert).
	if _, err := c.ddb.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
		TableName: sdkaws.String("minato-lease"), Key: leaseKey("new"),
		UpdateExpression: sdkaws.String("SET n = :v"), ExpressionAttributeValues: map[string]av{":v": num("7")},
		ConditionExpression: sdkaws.String("attribute_not_exists(lease)"),
	}); err != nil {
		t.Fatal(err)
	}
	if got := c.srv.Item("minato-lease", "new"); got["n"] != "7" || got["lease"] != "new" {
		t.Fatalf("upserted item = %v", got)
	}
}

func TestDynamoValidation(t *testing.T) {
	c := start(t, awstest.Options{})
	c.srv.AddTable("t", "k")
	tn := sdkaws.String("t")
	cases := []struct {
		name string
		call func() error
		msg  string
	}{
		{"reserved word", func() error {
			_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tn, Item: map[string]av{"k": str("a"), "owner": str("x")},
				ConditionExpression: sdkaws.String("owner = :o"), ExpressionAttributeValues: map[string]av{":o": str("x")}})
			return err
		}, "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: owner"},
		{"undefined name", func() error {
			_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tn, Item: map[string]av{"k": str("a")},
				ConditionExpression: sdkaws.String("attribute_exists(#nope)")})
			return err
		}, "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope"},
		{"undefined value", func() error {
			_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tn, Item: map[string]av{"k": str("a")},
				ConditionExpression: sdkaws.String("v = :nope")})
			return err
		}, "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"unused value", func() error {
			_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tn, Item: map[string]av{"k": str("a")},
				ConditionExpression: sdkaws.String("attribute_not_exists(k)"), ExpressionAttributeValues: map[string]av{":x": str("x")}})
			return err
		}, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"},
		{"syntax", func() error {
			_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tn, Item: map[string]av{"k": str("a")},
				ConditionExpression: sdkaws.String("attribute_not_exists(k) AND")})
			return err
		}, `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND"`},
		{"BETWEEN", func() error {
			_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tn, Item: map[string]av{"k": str("a")},
				ConditionExpression: sdkaws.String("v BETWEEN :a AND :b"), ExpressionAttributeValues: map[string]av{":a": num("1"), ":b": num("2")}})
			return err
		}, "Invalid ConditionExpression: awstest models no BETWEEN operator (only = <> < <= > >=)"},
		{"wrong key", func() error {
			_, err := c.ddb.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tn, Key: map[string]av{"other": str("a")}})
			return err
		}, "The provided key element does not match the schema"},
		{"key update", func() error {
			_, err := c.ddb.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tn, Key: map[string]av{"k": str("a")},
				UpdateExpression: sdkaws.String("SET k = :v"), ExpressionAttributeValues: map[string]av{":v": str("b")}})
			return err
		}, "One or more parameter values were invalid: Cannot update attribute k. This attribute is part of the key"},
		{"missing key in item", func() error {
			_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tn, Item: map[string]av{"v": str("a")}})
			return err
		}, "One or more parameter values were invalid: Missing the key k in the item"},
		{"arithmetic on text", func() error {
			_, err := c.ddb.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: tn, Key: map[string]av{"k": str("a")},
				UpdateExpression: sdkaws.String("SET v = :s + :n"), ExpressionAttributeValues: map[string]av{":s": str("x"), ":n": num("1")}})
			return err
		}, "An operand in the update expression has an incorrect data type"},
		{"list type", func() error {
			_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tn, Item: map[string]av{"k": str("a"), "l": &types.AttributeValueMemberL{}}})
			return err
		}, "awstest models attribute types S, N, BOOL and NULL; L of l is not modelled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, tc.call(), "ValidationException", tc.msg)
		})
	}
	_, err := c.ddb.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: sdkaws.String("nope"), Key: map[string]av{"k": str("a")}})
	wantAPIError(t, err, "ResourceNotFoundException", "Requested resource not found")
}

func TestDynamoFaults(t *testing.T) {
	c := start(t, awstest.Options{})
	c.srv.AddTable("t", "k")
	put := func() error {
		_, err := c.ddb.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: sdkaws.String("t"), Item: map[string]av{"k": str("a")}})
		return err
	}
	c.srv.Throttle("PutItem", 2)
	if err := put(); err != nil {
		t.Fatalf("throttling not ridden out: %v", err)
	}
	if n := c.srv.Calls("PutItem"); n != 3 {
		t.Fatalf("PutItem calls = %d, want 3", n)
	}
	c.srv.Throttle("PutItem", 3)
	wantAPIError(t, put(), "ThrottlingException", "Rate of requests exceeds the allowed throughput.")

	c.srv.Deny("PutItem", "t")
	wantAPIError(t, put(), "AccessDeniedException", "")
	c.srv.ClearFaults()
	c.srv.Fail("PutItem", "ProvisionedThroughputExceededException", 3)
	wantAPIError(t, put(), "ProvisionedThroughputExceededException", "")
	c.srv.SetOutage(true)
	wantAPIError(t, put(), "ServiceUnavailable", "Service Unavailable")
	c.srv.SetOutage(false)
	if err := put(); err != nil {
		t.Fatal(err)
	}
}
