"""The emulated AWS: moto, plus what moto lacks (SageMaker endpoint behaviour, virtual time)."""
