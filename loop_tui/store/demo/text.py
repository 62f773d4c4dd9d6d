"""Text pools for the sample data: questions, answers, documents, error messages."""

from __future__ import annotations

SUPPORT_TOPICS = [
    ("reset my password", "Go to Settings > Security and choose 'Reset password'; a link is emailed to you and expires in 30 minutes."),
    ("get a refund for order {order}", "Refunds for order {order} go back to the original payment method within 5-7 business days once approved."),
    ("change my shipping address", "You can change the address under Orders > {order} > Edit shipping until the parcel is dispatched."),
    ("cancel my subscription", "Open Billing > Plan and choose 'Cancel plan'; you keep access until the end of the billing period."),
    ("know where order {order} is", "Order {order} left our warehouse yesterday; the carrier's tracking shows delivery within 2 days."),
    ("fix a double charge on my card", "A double charge is usually a pending authorisation that drops off in 3 days; if not, we refund it."),
    ("set up SSO with Okta", "SSO is on the Business plan: add Loop as a SAML app in Okta and paste the metadata URL in Settings > SSO."),
    ("raise my API rate limit", "Rate limits scale with your plan; Enterprise customers can request higher limits from their account manager."),
    ("export my data", "Use Settings > Data > Export; we email a download link to a ZIP of CSV files within an hour."),
    ("delete my account", "Account deletion is under Settings > Account > Delete; it is permanent after a 14-day grace period."),
    ("update my billing email", "Billing > Contacts lets you add or replace the address that receives invoices."),
    ("apply a discount code", "Enter the code at checkout in the 'Promo code' box; codes cannot be added after payment."),
    ("talk to a human", "I can connect you with an agent: our team answers within 2 hours on weekdays."),
    ("change the language of the app", "Choose Settings > Preferences > Language; the app reloads in the new language."),
    ("enable two-factor authentication", "Turn on 2FA in Settings > Security with an authenticator app or a hardware key."),
]
SUPPORT_PREFIXES = ["How do I", "Can you help me", "I need to", "What's the way to", "Please help me", "how can i", "Hi, I want to"]
SUPPORT_SUFFIXES = ["?", "", " asap", " please", "? thanks", "?? it's urgent"]
KB_DOCS = [
    "kb/account-security.md", "kb/refunds.md", "kb/shipping.md", "kb/billing.md", "kb/sso.md",
    "kb/api-limits.md", "kb/data-export.md", "kb/account-deletion.md", "kb/discounts.md", "kb/localization.md",
]
SUPPORT_SYSTEM = "You are Acme's support assistant. Answer from the retrieved articles only; cite them. Be concise."

VENDORS = ["Globex GmbH", "Initech LLC", "Umbrella Corp", "Hooli Inc", "Stark Industries", "Wayne Enterprises", "Acme Supplies", "Soylent BV"]
CURRENCIES = ["USD", "EUR", "GBP"]
ITEMS = ["Consulting hours", "Cloud hosting", "Office chairs", "Laptop stand", "Support plan", "Training session", "Printer toner", "Software licence"]
INVOICE_SYSTEM = "Extract vendor, invoice_date, currency, total and line_items from the invoice text. Reply with JSON only."

ERRORS = {
    "rate_limit": "RateLimitError: 429 Too Many Requests: rate limit reached for requests on {model}; retry after 20s",
    "timeout": "TimeoutError: the model request took longer than 30 seconds",
    "tool": "ToolError: order service returned 503 Service Unavailable for lookup_order",
    "bad_json": "JSONDecodeError: Expecting ',' delimiter",
    "context": "BadRequestError: this model's maximum context length is 128000 tokens",
}

# Parse failures come in a few kinds (as real logs group them), not one message per character position.
BAD_JSON_KINDS = [
    "JSONDecodeError: Expecting ',' delimiter",
    "JSONDecodeError: Unterminated string starting at line 1",
    "JSONDecodeError: Expecting property name enclosed in double quotes",
]
