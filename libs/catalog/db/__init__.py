"""PostgreSQL access: connection pool and the migrations runner."""
