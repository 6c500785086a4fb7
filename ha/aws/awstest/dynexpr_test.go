package awstest

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func s(v string) attr { return attr{typ: "S", s: v} }
func n(v string) attr { return attr{typ: "N", s: v} }

var testValues = map[string]attr{
	":me": s("node1"), ":other": s("node2"), ":ten": n("10"), ":nine": n("9"), ":tenf": n("10.0"),
	":t": {typ: "BOOL", b: true}, ":one": n("1"), ":text": s("10"),
}

var testNames = map[string]string{"#o": "owner", "#e": "epoch", "#x": "expires"}

func TestConditionGrammar(t *testing.T) {
	it := item{"owner": s("node1"), "epoch": n("10"), "expires": n("100"), "held": {typ: "BOOL", b: true}, "word": s("abc")}
	cases := []struct {
		expr string
		want bool
	}{
		{"attribute_exists(#o)", true},
		{"attribute_exists(absent)", false},
		{"attribute_not_exists(absent)", true},
		{"attribute_not_exists(#o)", false},
		{"#o = :me", true},
		{"#o = :other", false},
		{":me = #o", true},
		{"#o <> :other", true},
		{"#o <> :me", false},
		{"#e = :ten", true},
		{"#e = :tenf", true},     // numbers compare as numbers
		{"#e > :nine", true},     // 10 > 9 numerically ("10" < "9" as text)
		{"#e = :text", false},    // N 10 is not S "10"
		{"#e <> :text", true},    // different types are unequal
		{"#e < :text", false},    // and cannot be ordered
		{"absent <> :me", true},  // an absent attribute is unequal to anything
		{"absent = :me", false},  // …
		{"absent < :ten", false}, // … and cannot be ordered
		{"#e >= :ten AND #e <= :ten", true},
		{"#e < :ten OR #o = :me", true},
		{"NOT #o = :me", false},
		{"not not #o = :me", true},
		{"#o = :other OR #e = :ten AND #x > #e", true}, // AND binds tighter than OR
		{"(#o = :other OR #e = :ten) AND #x < #e", false},
		{"#x > #e", true}, // path against path
		{"held = :t", true},
		{"held < :t", false}, // BOOL cannot be ordered
		{"word < :me", true}, // strings compare byte-wise
		{"attribute_not_exists(k) OR #x < :ten OR (#o = :me AND #e <= :ten)", true},
	}
	for _, tc := range cases {
		ctx := newExprCtx(testNames, testValues)
		c, err := parseCondition(tc.expr, ctx)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := c.eval(it); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestConditionErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"", "Invalid ConditionExpression: The expression can not be empty;"},
		{"#o =", `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "="`},
		{"#o = :me AND", `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND"`},
		{"(#o = :me", `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: ":me"`},
		{"#o = :me)", `Invalid ConditionExpression: Syntax error; token: ")", near: ":me )"`},
		{"#o == :me", `Invalid ConditionExpression: Syntax error; token: "=", near: "= = :me"`},
		{"a.b = :me", `Invalid ConditionExpression: Syntax error; token: ".", near: "a.b = :me"`},
		{"#nope = :me", "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope"},
		{"#o = :nope", "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"status = :me", "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"},
		{"size(#o) > :one", "Invalid ConditionExpression: awstest models no function size (only attribute_exists and attribute_not_exists)"},
		{"Attribute_Exists(#o)", "Invalid ConditionExpression: awstest models no function Attribute_Exists (only attribute_exists and attribute_not_exists)"},
		{"#e IN (:one)", "Invalid ConditionExpression: awstest models no IN operator (only = <> < <= > >=)"},
		{"#o = :me = :me", `Invalid ConditionExpression: Syntax error; token: "=", near: ":me = :me"`},
		{"# = :me", `Invalid ConditionExpression: Syntax error; token: "#", near: "# = :me"`},
		{strings.Repeat("(", 5000), "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 5000"},
	}
	for _, tc := range cases {
		_, err := parseCondition(tc.expr, newExprCtx(testNames, testValues))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.expr, err, tc.want)
		}
	}
}

func TestUnusedNamesAndValues(t *testing.T) {
	ctx := newExprCtx(map[string]string{"#o": "owner", "#z": "z"}, map[string]attr{":me": s("x")})
	if _, err := parseCondition("#o = :me", ctx); err != nil {
		t.Fatal(err)
	}
	if err := ctx.unused(); err == nil || err.Error() != "Value provided in ExpressionAttributeNames unused in expressions: keys: {#z}" {
		t.Fatalf("unused = %v", err)
	}
	ctx = newExprCtx(nil, map[string]attr{":me": s("x"), ":a": s("a"), ":b": s("b")})
	if _, err := parseCondition("v = :me", ctx); err != nil {
		t.Fatal(err)
	}
	if err := ctx.unused(); err == nil || err.Error() != "Value provided in ExpressionAttributeValues unused in expressions: keys: {:a, :b}" {
		t.Fatalf("unused = %v", err)
	}
}

func TestUpdateGrammar(t *testing.T) {
	base := item{"k": s("key"), "owner": s("node1"), "epoch": n("10"), "count": n("2.5"), "gone": s("x")}
	cases := []struct {
		expr    string
		want    item
		touched []string
	}{
		{"SET #o = :other", item{"k": s("key"), "owner": s("node2"), "epoch": n("10"), "count": n("2.5"), "gone": s("x")}, []string{"owner"}},
		{"set #e = #e + :one, fresh = :t", item{"k": s("key"), "owner": s("node1"), "epoch": n("11"), "count": n("2.5"), "gone": s("x"), "fresh": {typ: "BOOL", b: true}}, []string{"epoch", "fresh"}},
		{"SET #e = #e - :tenf REMOVE gone", item{"k": s("key"), "owner": s("node1"), "epoch": n("0"), "count": n("2.5")}, []string{"epoch", "gone"}},
		{"REMOVE gone, #o SET dup = #e", item{"k": s("key"), "epoch": n("10"), "count": n("2.5"), "dup": n("10")}, []string{"dup", "gone", "owner"}},
		{"SET #x = :one + :nine", item{"k": s("key"), "owner": s("node1"), "epoch": n("10"), "count": n("2.5"), "gone": s("x"), "expires": n("10")}, []string{"expires"}},
	}
	for _, tc := range cases {
		u, err := parseUpdate(tc.expr, newExprCtx(testNames, testValues))
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		got, touched, err := u.apply(base)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
		slices.Sort(touched)
		if !slices.Equal(touched, tc.touched) {
			t.Errorf("%s touched %v, want %v", tc.expr, touched, tc.touched)
		}
	}
	if base["owner"] != s("node1") || len(base) != 5 {
		t.Fatalf("apply changed its input: %v", base)
	}
	count, err := parseUpdate("SET count = count + :one", newExprCtx(nil, testValues))
	if err == nil {
		t.Fatalf("reserved word count accepted: %v", count)
	}
}

func TestUpdateErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"", "Invalid UpdateExpression: The expression can not be empty;"},
		{"SET", `Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "SET"`},
		{"SET a :one", `Invalid UpdateExpression: Syntax error; token: ":one", near: "a :one"`},
		{"SET a < :one", `Invalid UpdateExpression: Syntax error; token: "<", near: "a < :one"`},
		{"SET a = :one,", `Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","`},
		{"SET a = :one SET b = :one", `Invalid UpdateExpression: The "SET" section can only be used once in an update expression;`},
		{"SET a = :one, a = :nine", "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"SET a = :one REMOVE a", "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"ADD a :one", "Invalid UpdateExpression: awstest models no ADD section (only SET and REMOVE)"},
		{"UPSERT a = :one", `Invalid UpdateExpression: Syntax error; token: "UPSERT", near: "UPSERT a"`},
		{"SET a = if_not_exists(a, :one)", "Invalid UpdateExpression: awstest models no function if_not_exists here (only attribute_exists and attribute_not_exists in conditions)"},
		{"SET a = :nope", "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :nope"},
	}
	for _, tc := range cases {
		_, err := parseUpdate(tc.expr, newExprCtx(testNames, testValues))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.expr, err, tc.want)
		}
	}
	apply := []struct{ expr, want string }{
		{"SET a = absent", "The provided expression refers to an attribute that does not exist in the item"},
		{"SET a = absent + :one", "The provided expression refers to an attribute that does not exist in the item"},
		{"SET a = #o + :one", "An operand in the update expression has an incorrect data type"},
		{"SET a = :one - :text", "An operand in the update expression has an incorrect data type"},
	}
	for _, tc := range apply {
		u, err := parseUpdate(tc.expr, newExprCtx(testNames, testValues))
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if _, _, err := u.apply(item{"owner": s("x")}); err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %s", tc.expr, err, tc.want)
		}
	}
}

func TestNumbers(t *testing.T) {
	for _, tc := range []struct{ a, b string }{{"1", "1.0"}, {"1e2", "100"}, {"-0", "0"}, {"0.10", "0.1"}} {
		if c, ok := compare(n(tc.a), n(tc.b)); !ok || c != 0 {
			t.Errorf("%s vs %s = %d %v", tc.a, tc.b, c, ok)
		}
	}
	for _, bad := range []string{"", "abc", "1/2", "NaN", "Inf", "1_000", strings.Repeat("9", 80)} {
		if _, ok := number(bad); ok {
			t.Errorf("number(%q) accepted", bad)
		}
	}
	r, _ := number("2.5")
	one, _ := number("0.25")
	if got := formatNumber(r.Add(r, one)); got != "2.75" {
		t.Errorf("2.5 + 0.25 = %s", got)
	}
}

// FuzzCondition: the condition and update parsers never panic, and what
// they accept evaluates without panicking.
func FuzzCondition(f *testing.F) {
	for _, seed := range []string{
		"attribute_not_exists(k) OR #x < :ten OR (#o = :me AND #e <= :ten)",
		"NOT (#o <> :me)", "#e >= :nine AND NOT attribute_exists(gone)", "((((#o = :me))))",
		"SET #e = #e + :one, a = :t REMOVE gone", "REMOVE a, b", "#o = ", ":me", "(", ")", "#", ":", "a.b[1]",
		"SET a = b - :one", "attribute_exists(", "x = :me AND AND", "\xff\xfe", "NOT NOT NOT a = :me",
	} {
		f.Add(seed)
	}
	it := item{"owner": s("node1"), "epoch": n("10"), "a": n("1"), "b": s("x")}
	f.Fuzz(func(t *testing.T, expr string) {
		if c, err := parseCondition(expr, newExprCtx(testNames, testValues)); err == nil {
			c.eval(it)
			c.eval(item{})
		}
		if u, err := parseUpdate(expr, newExprCtx(testNames, testValues)); err == nil {
			_, _, _ = u.apply(it)
		}
	})
}
