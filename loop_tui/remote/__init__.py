"""Braintrust as a remote: one HTTP client, pull and push between a project and the local workspace,
`bt sync` folders, and BTQL run where the data lives. No Textual here: the CLI and the app share it."""
