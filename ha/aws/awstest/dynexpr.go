package awstest

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// DynamoDB's condition and update expressions, the subset minato uses:
//
//	condition := or
//	or        := and { OR and }
//	and       := not { AND not }
//	not       := NOT not | primary
//	primary   := "(" or ")"
//	           | attribute_exists "(" path ")" | attribute_not_exists "(" path ")"
//	           | operand ( = | <> | < | <= | > | >= ) operand
//	operand   := path | :value
//	path      := name | #name
//
//	update    := clause { clause }   (each at most once)
//	clause    := SET set { "," set } | REMOVE path { "," path }
//	set       := path "=" operand [ ( + | - ) operand ]
//
// Keywords are case-insensitive, function names are not (as in DynamoDB).
// Anything else (BETWEEN, IN, size, begins_with, nested paths, ADD,
// DELETE) is refused with a ValidationException naming it.

// reservedWords are DynamoDB's reserved words, which may not be used as
// plain attribute names in an expression (DynamoDB developer guide,
// "Reserved words in DynamoDB").
var reservedWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(reservedWordList) {
		m[w] = true
	}
	return m
}()

const reservedWordList = "" +
	"ABORT ABSOLUTE ACTION ADD AFTER AGENT AGGREGATE ALL ALLOCATE ALTER ANALYZE AND ANY ARCHIVE ARE ARRAY AS ASC " +
	"ASCII ASENSITIVE ASSERTION ASYMMETRIC AT ATOMIC ATTACH ATTRIBUTE AUTH AUTHORIZATION AUTHORIZE AUTO AVG BACK " +
	"BACKUP BASE BATCH BEFORE BEGIN BETWEEN BIGINT BINARY BIT BLOB BLOCK BOOLEAN BOTH BREADTH BUCKET BULK BY BYTE " +
	"CALL CALLED CALLING CAPACITY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER CHECK CLASS CLOB CLOSE CLUSTER " +
	"CLUSTERED CLUSTERING CLUSTERS COALESCE COLLATE COLLATION COLLECTION COLUMN COLUMNS COMBINE COMMENT COMMIT " +
	"COMPACT COMPILE COMPRESS CONDITION CONFLICT CONNECT CONNECTION CONSISTENCY CONSISTENT CONSTRAINT CONSTRAINTS " +
	"CONSTRUCTOR CONSUMED CONTINUE CONVERT COPY CORRESPONDING COUNT COUNTER CREATE CROSS CUBE CURRENT CURSOR CYCLE " +
	"DATA DATABASE DATE DATETIME DAY DEALLOCATE DEC DECIMAL DECLARE DEFAULT DEFERRABLE DEFERRED DEFINE DEFINED " +
	"DEFINITION DELETE DELIMITED DEPTH DEREF DESC DESCRIBE DESCRIPTOR DETACH DETERMINISTIC DIAGNOSTICS DIRECTORIES " +
	"DISABLE DISCONNECT DISTINCT DISTRIBUTE DO DOMAIN DOUBLE DROP DUMP DURATION DYNAMIC EACH ELEMENT ELSE ELSEIF " +
	"EMPTY ENABLE END EQUAL EQUALS ERROR ESCAPE ESCAPED EVAL EVALUATE EXCEEDED EXCEPT EXCEPTION EXCEPTIONS " +
	"EXCLUSIVE EXEC EXECUTE EXISTS EXIT EXPLAIN EXPLODE EXPORT EXPRESSION EXTENDED EXTERNAL EXTRACT FAIL FALSE " +
	"FAMILY FETCH FIELDS FILE FILTER FILTERING FINAL FINISH FIRST FIXED FLATTERN FLOAT FOR FORCE FOREIGN FORMAT " +
	"FORWARD FOUND FREE FROM FULL FUNCTION FUNCTIONS GENERAL GENERATE GET GLOB GLOBAL GO GOTO GRANT GREATER GROUP " +
	"GROUPING HANDLER HASH HAVE HAVING HEAP HIDDEN HOLD HOUR IDENTIFIED IDENTITY IF IGNORE IMMEDIATE IMPORT IN " +
	"INCLUDING INCLUSIVE INCREMENT INCREMENTAL INDEX INDEXED INDEXES INDICATOR INFINITE INITIALLY INLINE INNER " +
	"INNTER INOUT INPUT INSENSITIVE INSERT INSTEAD INT INTEGER INTERSECT INTERVAL INTO INVALIDATE IS ISOLATION " +
	"ITEM ITEMS ITERATE JOIN KEY KEYS LAG LANGUAGE LARGE LAST LATERAL LEAD LEADING LEAVE LEFT LENGTH LESS LEVEL " +
	"LIKE LIMIT LIMITED LINES LIST LOAD LOCAL LOCALTIME LOCALTIMESTAMP LOCATION LOCATOR LOCK LOCKS LOG LOGED LONG " +
	"LOOP LOWER MAP MATCH MATERIALIZED MAX MAXLEN MEMBER MERGE METHOD METRICS MIN MINUS MINUTE MISSING MOD MODE " +
	"MODIFIES MODIFY MODULE MONTH MULTI MULTISET NAME NAMES NATIONAL NATURAL NCHAR NCLOB NEW NEXT NO NONE NOT NULL " +
	"NULLIF NUMBER NUMERIC OBJECT OF OFFLINE OFFSET OLD ON ONLINE ONLY OPAQUE OPEN OPERATOR OPTION OR ORDER " +
	"ORDINALITY OTHER OTHERS OUT OUTER OUTPUT OVER OVERLAPS OVERRIDE OWNER PAD PARALLEL PARAMETER PARAMETERS " +
	"PARTIAL PARTITION PARTITIONED PARTITIONS PATH PERCENT PERCENTILE PERMISSION PERMISSIONS PIPE PIPELINED PLAN " +
	"POOL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR PRIVATE PRIVILEGES PROCEDURE PROCESSED PROJECT " +
	"PROJECTION PROPERTY PROVISIONING PUBLIC PUT QUERY QUIT QUORUM RAISE RANDOM RANGE RANK RAW READ READS REAL " +
	"REBUILD RECORD RECURSIVE REDUCE REF REFERENCE REFERENCES REFERENCING REGEXP REGION REINDEX RELATIVE RELEASE " +
	"REMAINDER RENAME REPEAT REPLACE REQUEST RESET RESIGNAL RESOURCE RESPONSE RESTORE RESTRICT RESULT RETURN " +
	"RETURNING RETURNS REVERSE REVOKE RIGHT ROLE ROLES ROLLBACK ROLLUP ROUTINE ROW ROWS RULE RULES SAMPLE " +
	"SATISFIES SAVE SAVEPOINT SCAN SCHEMA SCOPE SCROLL SEARCH SECOND SECTION SEGMENT SEGMENTS SELECT SELF SEMI " +
	"SENSITIVE SEPARATE SEQUENCE SERIALIZABLE SESSION SET SETS SHARD SHARE SHARED SHORT SHOW SIGNAL SIMILAR SIZE " +
	"SKEWED SMALLINT SNAPSHOT SOME SOURCE SPACE SPACES SPARSE SPECIFIC SPECIFICTYPE SPLIT SQL SQLCODE SQLERROR " +
	"SQLEXCEPTION SQLSTATE SQLWARNING START STATE STATIC STATUS STORAGE STORE STORED STREAM STRING STRUCT STYLE " +
	"SUB SUBMULTISET SUBPARTITION SUBSTRING SUBTYPE SUM SUPER SYMMETRIC SYNONYM SYSTEM TABLE TABLESAMPLE TEMP " +
	"TEMPORARY TERMINATED TEXT THAN THEN THROUGHPUT TIME TIMESTAMP TIMEZONE TINYINT TO TOKEN TOTAL TOUCH TRAILING " +
	"TRANSACTION TRANSFORM TRANSLATE TRANSLATION TREAT TRIGGER TRIM TRUE TRUNCATE TTL TUPLE TYPE UNDER UNDO UNION " +
	"UNIQUE UNIT UNKNOWN UNLOGGED UNNEST UNPROCESSED UNSIGNED UNTIL UPDATE UPPER URL USAGE USE USER USERS USING " +
	"UUID VACUUM VALUE VALUED VALUES VARCHAR VARIABLE VARIANCE VARINT VARYING VIEW VIEWS VIRTUAL VOID WAIT WHEN " +
	"WHENEVER WHERE WHILE WINDOW WITH WITHIN WITHOUT WORK WRAPPED WRITE YEAR ZONE"

// attr is one attribute value: S, N (kept as written), BOOL or NULL.
type attr struct {
	typ string // "S", "N", "BOOL", "NULL"
	s   string // S's text, N's digits
	b   bool   // BOOL's value
}

// item is one item, attribute name → value.
type item map[string]attr

func (a attr) text() string {
	switch a.typ {
	case "BOOL":
		if a.b {
			return "true"
		}
		return "false"
	case "NULL":
		return ""
	}
	return a.s
}

// number parses an N value.
func number(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "/_") || len(s) > 64 {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// formatNumber writes r as DynamoDB writes a number: no exponent, no
// trailing zeros.
func formatNumber(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	s := r.FloatString(38)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// compare returns -1, 0 or 1 for two values of the same comparable type;
// ok is false when they cannot be ordered (different types, BOOL or NULL
// for an ordering).
func compare(a, b attr) (int, bool) {
	if a.typ != b.typ {
		return 0, false
	}
	switch a.typ {
	case "S":
		return strings.Compare(a.s, b.s), true
	case "N":
		x, ok1 := number(a.s)
		y, ok2 := number(b.s)
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	}
	return 0, false
}

func equal(a, b attr) bool {
	if a.typ != b.typ {
		return false
	}
	switch a.typ {
	case "S":
		return a.s == b.s
	case "N":
		c, ok := compare(a, b)
		return ok && c == 0
	case "BOOL":
		return a.b == b.b
	}
	return true // NULL
}

// Tokens.

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tName  // #name
	tValue // :value
	tOp    // = <> < <= > >=
	tLParen
	tRParen
	tComma
	tPlus
	tMinus
)

type token struct {
	kind tokKind
	text string
}

func (t token) String() string {
	if t.kind == tEOF {
		return "<EOF>"
	}
	return t.text
}

func isNameChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// lex splits an expression into tokens; bad is DynamoDB's message about
// the first character that cannot start one.
func lex(expr string) (toks []token, bad string) {
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")"})
			i++
		case c == ',':
			toks = append(toks, token{tComma, ","})
			i++
		case c == '+':
			toks = append(toks, token{tPlus, "+"})
			i++
		case c == '-':
			toks = append(toks, token{tMinus, "-"})
			i++
		case c == '=':
			toks = append(toks, token{tOp, "="})
			i++
		case c == '<' || c == '>':
			op := string(c)
			if i+1 < len(expr) && (expr[i+1] == '=' || c == '<' && expr[i+1] == '>') {
				op += string(expr[i+1])
			}
			toks = append(toks, token{tOp, op})
			i += len(op)
		case c == '#' || c == ':':
			j := i + 1
			for j < len(expr) && isNameChar(expr[j]) {
				j++
			}
			if j == i+1 {
				return nil, fmt.Sprintf("Syntax error; token: %q, near: %q", string(c), near(expr, i))
			}
			k := tName
			if c == ':' {
				k = tValue
			}
			toks = append(toks, token{k, expr[i:j]})
			i = j
		case isNameChar(c):
			j := i
			for j < len(expr) && isNameChar(expr[j]) {
				j++
			}
			toks = append(toks, token{tIdent, expr[i:j]})
			i = j
		default:
			r := []rune(expr[i:])[0]
			return nil, fmt.Sprintf("Syntax error; token: %q, near: %q", string(r), near(expr, i))
		}
	}
	return append(toks, token{kind: tEOF}), ""
}

func near(expr string, i int) string {
	from, to := max(0, i-10), min(len(expr), i+10)
	return strings.ToValidUTF8(expr[from:to], "?")
}

// exprCtx resolves #names and :values for every expression of one
// request, remembering which were used.
type exprCtx struct {
	names  map[string]string
	values map[string]attr
	usedN  map[string]bool
	usedV  map[string]bool
}

func newExprCtx(names map[string]string, values map[string]attr) *exprCtx {
	return &exprCtx{names: names, values: values, usedN: map[string]bool{}, usedV: map[string]bool{}}
}

// unused reports the names and values no expression used, as DynamoDB
// refuses them.
func (c *exprCtx) unused() error {
	var n, v []string
	for k := range c.names {
		if !c.usedN[k] {
			n = append(n, k)
		}
	}
	for k := range c.values {
		if !c.usedV[k] {
			v = append(v, k)
		}
	}
	slices.Sort(n)
	slices.Sort(v)
	if len(n) > 0 {
		return &exprError{fmt.Sprintf("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(n, ", "))}
	}
	if len(v) > 0 {
		return &exprError{fmt.Sprintf("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(v, ", "))}
	}
	return nil
}

type parser struct {
	ctx  *exprCtx
	toks []token
	pos  int
	what string // "ConditionExpression", "UpdateExpression"
}

// exprError is a ValidationException's message about one expression.
type exprError struct{ msg string }

func (e *exprError) Error() string { return e.msg }

func (p *parser) fail(format string, args ...any) {
	panic(&exprError{"Invalid " + p.what + ": " + fmt.Sprintf(format, args...)})
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) syntax() {
	t := p.peek()
	var ctx []string
	for i := max(0, p.pos-1); i < min(len(p.toks), p.pos+2); i++ {
		if p.toks[i].kind != tEOF {
			ctx = append(ctx, p.toks[i].text)
		}
	}
	p.fail("Syntax error; token: %q, near: %q", t.String(), strings.Join(ctx, " "))
}

func (p *parser) expect(k tokKind) token {
	if p.peek().kind != k {
		p.syntax()
	}
	return p.next()
}

func (p *parser) keyword(w string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, w)
}

// run parses with f, turning a parse failure into an error.
func run[T any](p *parser, f func() T) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*exprError)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	v = f()
	if p.peek().kind != tEOF {
		p.syntax()
	}
	return v, nil
}

// operand is a path or a value of an expression.
type operand struct {
	path  string // attribute name, when a path
	value *attr
}

func (o operand) get(it item) (attr, bool) {
	if o.value != nil {
		return *o.value, true
	}
	a, ok := it[o.path]
	return a, ok
}

func (p *parser) path() string {
	t := p.peek()
	switch t.kind {
	case tName:
		p.next()
		n, ok := p.ctx.names[t.text]
		if !ok {
			p.fail("An expression attribute name used in the document path is not defined; attribute name: %s", t.text)
		}
		p.ctx.usedN[t.text] = true
		return n
	case tIdent:
		p.next()
		if reservedWords[strings.ToUpper(t.text)] {
			p.fail("Attribute name is a reserved keyword; reserved keyword: %s", t.text)
		}
		return t.text
	}
	p.syntax()
	return ""
}

func (p *parser) operand() operand {
	t := p.peek()
	if t.kind == tValue {
		p.next()
		v, ok := p.ctx.values[t.text]
		if !ok {
			p.fail("An expression attribute value used in expression is not defined; attribute value: %s", t.text)
		}
		p.ctx.usedV[t.text] = true
		return operand{value: &v}
	}
	if t.kind == tIdent && p.toks[p.pos+1].kind == tLParen {
		p.fail("awstest models no function %s here (only attribute_exists and attribute_not_exists in conditions)", t.text)
	}
	return operand{path: p.path()}
}

// cond is a parsed condition.
type cond interface {
	eval(it item) bool
}

type condOr struct{ l, r cond }
type condAnd struct{ l, r cond }
type condNot struct{ c cond }
type condExists struct {
	path string
	want bool
}
type condCmp struct {
	op   string
	l, r operand
}

func (c condOr) eval(it item) bool     { return c.l.eval(it) || c.r.eval(it) }
func (c condAnd) eval(it item) bool    { return c.l.eval(it) && c.r.eval(it) }
func (c condNot) eval(it item) bool    { return !c.c.eval(it) }
func (c condExists) eval(it item) bool { _, ok := it[c.path]; return ok == c.want }

// eval compares as DynamoDB does: a missing attribute or values of
// different types are unequal, and cannot be ordered.
func (c condCmp) eval(it item) bool {
	l, lok := c.l.get(it)
	r, rok := c.r.get(it)
	if !lok || !rok {
		return c.op == "<>"
	}
	switch c.op {
	case "=":
		return equal(l, r)
	case "<>":
		return !equal(l, r)
	}
	n, ok := compare(l, r)
	if !ok {
		return false
	}
	switch c.op {
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	}
	return n >= 0
}

// maxExpr is DynamoDB's limit on an expression's length (4 KB); it also
// bounds the parser's recursion.
const maxExpr = 4096

// parseCondition parses a ConditionExpression.
func parseCondition(expr string, ctx *exprCtx) (cond, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, &exprError{"Invalid ConditionExpression: The expression can not be empty;"}
	}
	if len(expr) > maxExpr {
		return nil, &exprError{fmt.Sprintf("Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: %d", len(expr))}
	}
	toks, bad := lex(expr)
	if bad != "" {
		return nil, &exprError{"Invalid ConditionExpression: " + bad}
	}
	p := &parser{ctx: ctx, toks: toks, what: "ConditionExpression"}
	return run(p, p.or)
}

func (p *parser) or() cond {
	c := p.and()
	for p.keyword("OR") {
		p.next()
		c = condOr{c, p.and()}
	}
	return c
}

func (p *parser) and() cond {
	c := p.not()
	for p.keyword("AND") {
		p.next()
		c = condAnd{c, p.not()}
	}
	return c
}

func (p *parser) not() cond {
	if p.keyword("NOT") {
		p.next()
		return condNot{p.not()}
	}
	return p.primary()
}

func (p *parser) primary() cond {
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		c := p.or()
		p.expect(tRParen)
		return c
	}
	if t.kind == tIdent && p.toks[p.pos+1].kind == tLParen {
		switch t.text {
		case "attribute_exists", "attribute_not_exists":
			p.next()
			p.next()
			path := p.path()
			p.expect(tRParen)
			return condExists{path: path, want: t.text == "attribute_exists"}
		}
		p.fail("awstest models no function %s (only attribute_exists and attribute_not_exists)", t.text)
	}
	l := p.operand()
	if p.keyword("BETWEEN") || p.keyword("IN") {
		p.fail("awstest models no %s operator (only = <> < <= > >=)", strings.ToUpper(p.peek().text))
	}
	op := p.expect(tOp)
	r := p.operand()
	return condCmp{op: op.text, l: l, r: r}
}

// update is a parsed UpdateExpression.
type update struct {
	sets    []setAction
	removes []string
}

type setAction struct {
	path  string
	l     operand
	arith string // "", "+" or "-"
	r     operand
}

// parseUpdate parses an UpdateExpression.
func parseUpdate(expr string, ctx *exprCtx) (*update, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, &exprError{"Invalid UpdateExpression: The expression can not be empty;"}
	}
	if len(expr) > maxExpr {
		return nil, &exprError{fmt.Sprintf("Invalid UpdateExpression: Expression size has exceeded the maximum allowed size; expression size: %d", len(expr))}
	}
	toks, bad := lex(expr)
	if bad != "" {
		return nil, &exprError{"Invalid UpdateExpression: " + bad}
	}
	p := &parser{ctx: ctx, toks: toks, what: "UpdateExpression"}
	return run(p, p.update)
}

func (p *parser) update() *update {
	u := &update{}
	seen := map[string]bool{}
	paths := map[string]bool{}
	addPath := func(path string) {
		if paths[path] {
			p.fail("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", path, path)
		}
		paths[path] = true
	}
	for p.peek().kind != tEOF {
		t := p.peek()
		kw := strings.ToUpper(t.text)
		switch {
		case t.kind != tIdent:
			p.syntax()
		case kw == "SET" || kw == "REMOVE":
			p.next()
		case kw == "ADD" || kw == "DELETE":
			p.fail("awstest models no %s section (only SET and REMOVE)", kw)
		default:
			p.syntax()
		}
		if seen[kw] {
			p.fail("The %q section can only be used once in an update expression;", kw)
		}
		seen[kw] = true
		for {
			if kw == "REMOVE" {
				path := p.path()
				addPath(path)
				u.removes = append(u.removes, path)
			} else {
				path := p.path()
				addPath(path)
				if t := p.peek(); t.kind != tOp || t.text != "=" {
					p.syntax()
				}
				p.next()
				s := setAction{path: path, l: p.operand()}
				if k := p.peek().kind; k == tPlus || k == tMinus {
					s.arith = p.next().text
					s.r = p.operand()
				}
				u.sets = append(u.sets, s)
			}
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
	}
	return u
}

// apply returns a copy of it with u applied, and the attributes it set or
// removed; err is a ValidationException's message.
func (u *update) apply(it item) (item, []string, error) {
	out := make(item, len(it)+len(u.sets))
	for k, v := range it {
		out[k] = v
	}
	var touched []string
	for _, s := range u.sets {
		l, ok := s.l.get(it)
		if !ok {
			return nil, nil, &exprError{"The provided expression refers to an attribute that does not exist in the item"}
		}
		v := l
		if s.arith != "" {
			r, ok := s.r.get(it)
			if !ok {
				return nil, nil, &exprError{"The provided expression refers to an attribute that does not exist in the item"}
			}
			x, okx := number(l.s)
			y, oky := number(r.s)
			if l.typ != "N" || r.typ != "N" || !okx || !oky {
				return nil, nil, &exprError{"An operand in the update expression has an incorrect data type"}
			}
			if s.arith == "+" {
				x.Add(x, y)
			} else {
				x.Sub(x, y)
			}
			v = attr{typ: "N", s: formatNumber(x)}
		}
		out[s.path] = v
		touched = append(touched, s.path)
	}
	for _, r := range u.removes {
		delete(out, r)
		touched = append(touched, r)
	}
	return out, touched, nil
}
