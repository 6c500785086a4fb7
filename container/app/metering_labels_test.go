package app_test

import (
	"testing"
	"time"

	"github.com/minato-ops/minato/container/app"
	"github.com/minato-ops/minato/container/app/metering"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMeteringLabels: the labels the reconciler puts on metered replicas
// are the ones the metering agent discovers by, and turning metering on
// changes the spec's hash (the replicas are recreated with the labels).
func TestMeteringLabels(t *testing.T) {
	assert.Equal(t, metering.LabelPort, app.LabelMeteringPort)
	assert.Equal(t, metering.LabelPath, app.LabelMeteringPath)
	assert.Equal(t, metering.LabelScheme, app.LabelMeteringScheme)
	assert.Equal(t, metering.LabelInterval, app.LabelMeteringInterval)
	assert.Equal(t, metering.LabelApp, app.LabelApp)

	specs, err := app.Parse([]byte("name: web\nimage: shop/web:1\n"), ".")
	require.NoError(t, err)
	off := specs[0].Hash()
	specs[0].Metering = app.Metering{Enabled: true, Port: 9100, Interval: 15 * time.Second}
	on := specs[0].Hash()
	assert.NotEqual(t, off, on)
	specs[0].Metering.Port = 9200
	assert.NotEqual(t, on, specs[0].Hash())
}
