"""SCB's statistics database (PxWebApi 2.0) as a harvest source."""
