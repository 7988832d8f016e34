"""The mock's media: deterministic WAV audio and PNG covers, synthesized on demand, and their ``/cdn`` handlers."""
