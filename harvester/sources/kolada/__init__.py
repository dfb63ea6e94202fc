"""Everything that knows the Kolada v3 API: the HTTP client, its errors and the request planner."""
