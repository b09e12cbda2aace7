package pipeline

// WithDefaults is withDefaults, for the tests of package pipeline_test.
var WithDefaults = withDefaults
