"""The edge layer: Gateway API (Envoy Gateway), AI routing, TLS, tenant access and rate limits."""
