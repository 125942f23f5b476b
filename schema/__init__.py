"""The GraphQL surface: types, inputs, payloads and the Schema object. No SQL here."""
