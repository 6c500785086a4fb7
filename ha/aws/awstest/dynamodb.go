package awstest

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// DynamoDB's JSON 1.0 protocol: POST / with X-Amz-Target:
// DynamoDB_20120810.<Operation>.
const dynamoTargetPrefix = "DynamoDB_20120810."

// dynamoRequest is the union of the fields of the modelled operations.
type dynamoRequest struct {
	TableName                           string                     `json:"TableName"`
	Key                                 map[string]json.RawMessage `json:"Key"`
	Item                                map[string]json.RawMessage `json:"Item"`
	ConsistentRead                      *bool                      `json:"ConsistentRead"`
	ConditionExpression                 *string                    `json:"ConditionExpression"`
	UpdateExpression                    *string                    `json:"UpdateExpression"`
	ExpressionAttributeNames            map[string]string          `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues           map[string]json.RawMessage `json:"ExpressionAttributeValues"`
	ReturnValues                        string                     `json:"ReturnValues"`
	ReturnValuesOnConditionCheckFailure string                     `json:"ReturnValuesOnConditionCheckFailure"`
	ProjectionExpression                *string                    `json:"ProjectionExpression"`
	// Legacy parameters, refused.
	Expected            json.RawMessage `json:"Expected"`
	AttributeUpdates    json.RawMessage `json:"AttributeUpdates"`
	AttributesToGet     json.RawMessage `json:"AttributesToGet"`
	ConditionalOperator json.RawMessage `json:"ConditionalOperator"`
}

var dynamoOps = map[string]func(s *Server, req *dynamoRequest) (any, *apiErr){
	"DescribeTable": (*Server).ddbDescribeTable,
	"GetItem":       (*Server).ddbGetItem,
	"PutItem":       (*Server).ddbPutItem,
	"UpdateItem":    (*Server).ddbUpdateItem,
	"DeleteItem":    (*Server).ddbDeleteItem,
}

func (s *Server) serveDynamo(w http.ResponseWriter, r *http.Request) {
	rid := s.requestID()
	w.Header().Set("X-Amzn-RequestId", rid)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), dynamoTargetPrefix)
	h, ok := dynamoOps[op]
	if !ok {
		s.countOnly(op)
		writeDynamoError(w, errf(http.StatusBadRequest, "UnknownOperationException", "awstest models no DynamoDB operation %s", op))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.countOnly(op)
		writeDynamoError(w, errf(http.StatusBadRequest, "SerializationException", "The request body could not be read: %v", err))
		return
	}
	var req dynamoRequest
	jsonErr := json.Unmarshal(body, &req)
	if e := s.admit(r, protoDynamo, op, one(req.TableName), nil); e != nil {
		writeDynamoError(w, e)
		return
	}
	if jsonErr != nil {
		writeDynamoError(w, errf(http.StatusBadRequest, "SerializationException", "The request body is not valid JSON for %s: %v", op, jsonErr))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		writeDynamoError(w, errf(http.StatusBadRequest, "UnknownOperationException", "Content-Type %q: want application/x-amz-json-1.0", ct))
		return
	}
	s.mu.Lock()
	out, e := h(s, &req)
	s.mu.Unlock()
	if e != nil {
		writeDynamoError(w, e)
		return
	}
	b, _ := json.Marshal(out)
	writeDynamo(w, http.StatusOK, b)
}

func writeDynamo(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeDynamoError(w http.ResponseWriter, e *apiErr) {
	ns := "com.amazonaws.dynamodb.v20120810#"
	switch e.code {
	case "ValidationException":
		ns = "com.amazon.coral.validate#"
	case "ThrottlingException", "ServiceUnavailable":
		ns = "com.amazon.coral.availability#"
	case "MissingAuthenticationTokenException", "AccessDeniedException", "UnrecognizedClientException":
		ns = "com.amazon.coral.service#"
	}
	body := map[string]any{"__type": ns + e.code, "message": e.msg}
	if e.item != nil {
		body["Item"] = encodeItem(e.item)
	}
	b, _ := json.Marshal(body)
	writeDynamo(w, e.status, b)
}

func validation(format string, args ...any) *apiErr {
	return errf(http.StatusBadRequest, "ValidationException", format, args...)
}

// decodeAttr parses one AttributeValue.
func decodeAttr(name string, raw json.RawMessage) (attr, *apiErr) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return attr{}, validation("Supplied AttributeValue of %s is not a JSON object", name)
	}
	if len(m) == 0 {
		return attr{}, validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	if len(m) > 1 {
		return attr{}, validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	for typ, v := range m {
		switch typ {
		case "S":
			var s string
			if json.Unmarshal(v, &s) != nil {
				return attr{}, validation("The S value of %s is not a string", name)
			}
			return attr{typ: "S", s: s}, nil
		case "N":
			var s string
			if json.Unmarshal(v, &s) != nil {
				return attr{}, validation("The N value of %s is not a string", name)
			}
			if _, ok := number(s); !ok {
				return attr{}, validation("A value provided cannot be converted into a number")
			}
			return attr{typ: "N", s: s}, nil
		case "BOOL":
			var b bool
			if json.Unmarshal(v, &b) != nil {
				return attr{}, validation("The BOOL value of %s is not a boolean", name)
			}
			return attr{typ: "BOOL", b: b}, nil
		case "NULL":
			var b bool
			if json.Unmarshal(v, &b) != nil || !b {
				return attr{}, validation("One or more parameter values were invalid: Null attribute value types must have the value of true")
			}
			return attr{typ: "NULL", b: true}, nil
		default:
			return attr{}, validation("awstest models attribute types S, N, BOOL and NULL; %s of %s is not modelled", typ, name)
		}
	}
	panic("unreachable")
}

func decodeItem(m map[string]json.RawMessage) (item, *apiErr) {
	it := make(item, len(m))
	for k, v := range m {
		if k == "" {
			return nil, validation("One or more parameter values were invalid: An AttributeValue may not contain an empty attribute name")
		}
		a, e := decodeAttr(k, v)
		if e != nil {
			return nil, e
		}
		it[k] = a
	}
	return it, nil
}

func encodeAttr(a attr) map[string]any {
	switch a.typ {
	case "BOOL":
		return map[string]any{"BOOL": a.b}
	case "NULL":
		return map[string]any{"NULL": true}
	}
	return map[string]any{a.typ: a.s}
}

func encodeItem(it item) map[string]any {
	out := make(map[string]any, len(it))
	for k, v := range it {
		out[k] = encodeAttr(v)
	}
	return out
}

func (s *Server) table(name string) (*tableRec, *apiErr) {
	if name == "" {
		return nil, validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	t := s.dynTables[name]
	if t == nil {
		return nil, errf(http.StatusBadRequest, "ResourceNotFoundException", "Requested resource not found")
	}
	return t, nil
}

// key returns the item key a request's Key names.
func (t *tableRec) key(m map[string]json.RawMessage) (string, *apiErr) {
	if len(m) != 1 || m[t.hashKey] == nil {
		return "", validation("The provided key element does not match the schema")
	}
	a, e := decodeAttr(t.hashKey, m[t.hashKey])
	if e != nil {
		return "", e
	}
	if a.typ != "S" {
		return "", validation("The provided key element does not match the schema")
	}
	if a.s == "" {
		return "", validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", t.hashKey)
	}
	return a.s, nil
}

func refuseLegacy(req *dynamoRequest) *apiErr {
	for name, v := range map[string]json.RawMessage{"Expected": req.Expected, "AttributeUpdates": req.AttributeUpdates, "AttributesToGet": req.AttributesToGet, "ConditionalOperator": req.ConditionalOperator} {
		if len(v) > 0 && string(v) != "null" {
			return validation("awstest models expressions only; the legacy parameter %s is not modelled", name)
		}
	}
	if req.ProjectionExpression != nil {
		return validation("awstest models no ProjectionExpression: every attribute is returned")
	}
	return nil
}

// exprs parses the request's condition (and update) expressions and
// checks that every expression name and value was used.
func exprs(req *dynamoRequest, withUpdate bool) (cond, *update, *apiErr) {
	vals := make(map[string]attr, len(req.ExpressionAttributeValues))
	for k, v := range req.ExpressionAttributeValues {
		if !strings.HasPrefix(k, ":") {
			return nil, nil, validation("ExpressionAttributeValues contains invalid key: Syntax error; key: %q", k)
		}
		a, e := decodeAttr(k, v)
		if e != nil {
			return nil, nil, e
		}
		vals[k] = a
	}
	for k := range req.ExpressionAttributeNames {
		if !strings.HasPrefix(k, "#") {
			return nil, nil, validation("ExpressionAttributeNames contains invalid key: Syntax error; key: %q", k)
		}
	}
	if req.ConditionExpression == nil && req.UpdateExpression == nil {
		if len(req.ExpressionAttributeNames) > 0 {
			return nil, nil, validation("ExpressionAttributeNames can only be specified when using expressions")
		}
		if len(vals) > 0 {
			return nil, nil, validation("ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null")
		}
	}
	ctx := newExprCtx(req.ExpressionAttributeNames, vals)
	var c cond
	var u *update
	if withUpdate {
		if req.UpdateExpression == nil {
			return nil, nil, validation("awstest models UpdateItem with an UpdateExpression only")
		}
		var err error
		if u, err = parseUpdate(*req.UpdateExpression, ctx); err != nil {
			return nil, nil, validation("%s", err.Error())
		}
	}
	if req.ConditionExpression != nil {
		var err error
		if c, err = parseCondition(*req.ConditionExpression, ctx); err != nil {
			return nil, nil, validation("%s", err.Error())
		}
	}
	if err := ctx.unused(); err != nil {
		return nil, nil, validation("%s", err.Error())
	}
	return c, u, nil
}

// check evaluates c against old (nil: no item) and answers
// ConditionalCheckFailedException when it does not hold.
func check(c cond, old item, req *dynamoRequest) *apiErr {
	if c == nil {
		return nil
	}
	it := old
	if it == nil {
		it = item{}
	}
	if c.eval(it) {
		return nil
	}
	e := errf(http.StatusBadRequest, "ConditionalCheckFailedException", "The conditional request failed")
	if req.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && old != nil {
		e.item = old
	}
	return e
}

func returnValues(req *dynamoRequest, allowed ...string) *apiErr {
	rv := req.ReturnValues
	if rv == "" || rv == "NONE" || slices.Contains(allowed, rv) {
		if f := req.ReturnValuesOnConditionCheckFailure; f != "" && f != "NONE" && f != "ALL_OLD" {
			return validation("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]", f)
		}
		return nil
	}
	return validation("Return values set to invalid value %q (allowed here: NONE, %s)", rv, strings.Join(allowed, ", "))
}

type attributesOut struct {
	Attributes map[string]any `json:"Attributes,omitempty"`
}

func (s *Server) ddbDescribeTable(req *dynamoRequest) (any, *apiErr) {
	t, e := s.table(req.TableName)
	if e != nil {
		return nil, e
	}
	var size int
	for k, it := range t.items {
		size += len(k)
		for n, v := range it {
			size += len(n) + len(v.s) + 1
		}
	}
	created := float64(t.created.UnixMilli()) / 1000
	return map[string]any{"Table": map[string]any{
		"TableName":                 t.name,
		"TableStatus":               "ACTIVE",
		"TableArn":                  fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", s.opts.Region, accountID, t.name),
		"TableId":                   fmt.Sprintf("%08x-0000-4000-8000-000000000000", crc32.ChecksumIEEE([]byte(t.name))),
		"KeySchema":                 []map[string]string{{"AttributeName": t.hashKey, "KeyType": "HASH"}},
		"AttributeDefinitions":      []map[string]string{{"AttributeName": t.hashKey, "AttributeType": "S"}},
		"CreationDateTime":          created,
		"ItemCount":                 len(t.items),
		"TableSizeBytes":            size,
		"BillingModeSummary":        map[string]any{"BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": created},
		"ProvisionedThroughput":     map[string]int{"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
		"DeletionProtectionEnabled": false,
	}}, nil
}

func (s *Server) ddbGetItem(req *dynamoRequest) (any, *apiErr) {
	t, e := s.table(req.TableName)
	if e != nil {
		return nil, e
	}
	if e := refuseLegacy(req); e != nil {
		return nil, e
	}
	k, e := t.key(req.Key)
	if e != nil {
		return nil, e
	}
	if len(req.ExpressionAttributeNames) > 0 {
		return nil, validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(slices.Sorted(maps.Keys(req.ExpressionAttributeNames)), ", "))
	}
	out := struct {
		Item map[string]any `json:"Item,omitempty"`
	}{}
	if it := t.items[k]; it != nil {
		out.Item = encodeItem(it)
	}
	return out, nil
}

func (s *Server) ddbPutItem(req *dynamoRequest) (any, *apiErr) {
	t, e := s.table(req.TableName)
	if e != nil {
		return nil, e
	}
	if e := refuseLegacy(req); e != nil {
		return nil, e
	}
	if e := returnValues(req, "ALL_OLD"); e != nil {
		return nil, e
	}
	it, e := decodeItem(req.Item)
	if e != nil {
		return nil, e
	}
	ka, ok := it[t.hashKey]
	switch {
	case !ok:
		return nil, validation("One or more parameter values were invalid: Missing the key %s in the item", t.hashKey)
	case ka.typ != "S":
		return nil, validation("One or more parameter values were invalid: Type mismatch for key %s expected: S actual: %s", t.hashKey, ka.typ)
	case ka.s == "":
		return nil, validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", t.hashKey)
	}
	c, _, e := exprs(req, false)
	if e != nil {
		return nil, e
	}
	old := t.items[ka.s]
	if e := check(c, old, req); e != nil {
		return nil, e
	}
	t.items[ka.s] = it
	var out attributesOut
	if req.ReturnValues == "ALL_OLD" && old != nil {
		out.Attributes = encodeItem(old)
	}
	return out, nil
}

func (s *Server) ddbUpdateItem(req *dynamoRequest) (any, *apiErr) {
	t, e := s.table(req.TableName)
	if e != nil {
		return nil, e
	}
	if e := refuseLegacy(req); e != nil {
		return nil, e
	}
	if e := returnValues(req, "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"); e != nil {
		return nil, e
	}
	k, e := t.key(req.Key)
	if e != nil {
		return nil, e
	}
	c, u, e := exprs(req, true)
	if e != nil {
		return nil, e
	}
	for _, sa := range u.sets {
		if sa.path == t.hashKey {
			return nil, validation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", t.hashKey)
		}
	}
	for _, r := range u.removes {
		if r == t.hashKey {
			return nil, validation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", t.hashKey)
		}
	}
	old := t.items[k]
	if e := check(c, old, req); e != nil {
		return nil, e
	}
	base := old
	if base == nil {
		base = item{t.hashKey: {typ: "S", s: k}}
	}
	nu, touched, err := u.apply(base)
	if err != nil {
		return nil, validation("%s", err.Error())
	}
	t.items[k] = nu
	var out attributesOut
	pickAttrs := func(from item, names []string) map[string]any {
		m := map[string]any{}
		for _, n := range names {
			if v, ok := from[n]; ok {
				m[n] = encodeAttr(v)
			}
		}
		return m
	}
	switch req.ReturnValues {
	case "ALL_OLD":
		if old != nil {
			out.Attributes = encodeItem(old)
		}
	case "ALL_NEW":
		out.Attributes = encodeItem(nu)
	case "UPDATED_OLD":
		if old != nil {
			out.Attributes = pickAttrs(old, touched)
		}
	case "UPDATED_NEW":
		out.Attributes = pickAttrs(nu, touched)
	}
	if len(out.Attributes) == 0 {
		out.Attributes = nil
	}
	return out, nil
}

func (s *Server) ddbDeleteItem(req *dynamoRequest) (any, *apiErr) {
	t, e := s.table(req.TableName)
	if e != nil {
		return nil, e
	}
	if e := refuseLegacy(req); e != nil {
		return nil, e
	}
	if e := returnValues(req, "ALL_OLD"); e != nil {
		return nil, e
	}
	k, e := t.key(req.Key)
	if e != nil {
		return nil, e
	}
	c, _, e := exprs(req, false)
	if e != nil {
		return nil, e
	}
	old := t.items[k]
	if e := check(c, old, req); e != nil {
		return nil, e
	}
	delete(t.items, k)
	var out attributesOut
	if req.ReturnValues == "ALL_OLD" && old != nil {
		out.Attributes = encodeItem(old)
	}
	return out, nil
}
