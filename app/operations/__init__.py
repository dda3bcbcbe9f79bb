"""Operations: readiness and metrics, across every domain."""
