// Package deploy holds no code: its tests check the deployment files next
// to it (Kubernetes manifests against the API types and the Pod Security
// "restricted" profile, Prometheus rules and the Grafana dashboard against
// the metrics logship exports). It is a module of its own so that the
// Kubernetes and Prometheus libraries those checks need stay out of
// logship's own dependencies.
package deploy
