package diag_test

import (
	"encoding/json"
	"testing"

	"github.com/minato-ops/minato/diag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeverityText(t *testing.T) {
	for sev, name := range map[diag.Severity]string{diag.OK: "ok", diag.Info: "info", diag.Warning: "warning", diag.Critical: "critical"} {
		assert.Equal(t, name, sev.String())
		b, err := sev.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, name, string(b))
		var back diag.Severity
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, sev, back)
	}
	assert.True(t, diag.OK < diag.Info && diag.Info < diag.Warning && diag.Warning < diag.Critical)
	assert.Equal(t, "severity(7)", diag.Severity(7).String())
	_, err := diag.Severity(7).MarshalText()
	assert.EqualError(t, err, "diag: severity 7 out of range")
	_, err = diag.Severity(-1).MarshalText()
	assert.Error(t, err)
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]diag.Severity{"ok": diag.OK, "OK": diag.OK, "Info": diag.Info, "WARNING": diag.Warning, "critical": diag.Critical, "CriTical": diag.Critical} {
		got, err := diag.ParseSeverity(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "warn", "error", "crit", " info", "fatal"} {
		_, err := diag.ParseSeverity(in)
		assert.EqualError(t, err, `diag: severity "`+in+`": want ok, info, warning or critical`)
	}
}

func TestFindingJSON(t *testing.T) {
	f := diag.Finding{Code: "D21", Severity: diag.Critical, Subject: diag.Subject{Kind: diag.SubjectHost, Name: "web1"},
		Title: "data root full", Remedy: "prune", Evidence: []string{"96 %"}, Reference: "Container Service FAQ D21 (§2.14)"}
	b, err := json.Marshal(f)
	require.NoError(t, err)
	assert.JSONEq(t, `{"code":"D21","severity":"critical","subject":{"kind":"host","name":"web1"},"title":"data root full",
		"remedy":"prune","evidence":["96 %"],"reference":"Container Service FAQ D21 (§2.14)"}`, string(b))
	var back diag.Finding
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, f, back)

	err = json.Unmarshal([]byte(`{"severity":"severe"}`), &back)
	assert.ErrorContains(t, err, `severity "severe": want ok, info, warning or critical`)
	_, err = json.Marshal(diag.Finding{Severity: 12})
	assert.ErrorContains(t, err, "severity 12 out of range")
}

func TestSubjectString(t *testing.T) {
	assert.Equal(t, "container web", diag.Subject{Kind: diag.SubjectContainer, ID: "4cd2236e6c2c", Name: "web"}.String())
	assert.Equal(t, "container 4cd2236e6c2c", diag.Subject{Kind: diag.SubjectContainer, ID: "4cd2236e6c2c"}.String())
	assert.Equal(t, "engine", diag.Subject{Kind: diag.SubjectEngine}.String())
}
