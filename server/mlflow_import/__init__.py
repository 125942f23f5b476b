"""`modelreg import mlflow`: read a running MLflow registry over REST and import it."""
