"""Compliance spot checks (专项抽查 / 履约检查): campaigns, sampling, audit cases, rectification,
the audit sweep and the campaign report. One module per family; each public use case is one
function and one transaction."""
