"""Development tools of the repository (not installed with the package): the local Kafka
broker launcher (``python -m devtools.kafka_broker``). They read their own environment
variables; the runtime package reads only its settings."""
