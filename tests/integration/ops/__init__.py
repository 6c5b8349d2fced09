"""Running the service: health, outages, privacy of logs, hostile input, benchmarks' smoke."""
