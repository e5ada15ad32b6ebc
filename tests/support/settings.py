"""Production settings that pass every start-up check, for tests of the checks."""

from config import Settings

SAFE_PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "x" * 48,
    "SMS_BACKEND": "webhook",
    "SMS_WEBHOOK_URL": "https://sms.internal/send",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "mysql+pymysql://app@db/nucleotide",
    "ALLOWED_ORIGINS": "https://app.nucleotide.example",
    "RAZORPAY_KEY_SECRET": "live-secret-from-the-dashboard",
    "RAZORPAY_WEBHOOK_SECRET": "webhook-secret-from-the-dashboard",
    "TOKEN_ENCRYPTION_KEY": "q0X9n2Qm4nVQ8Jc9m3C2pX7E1yHq1sZfK0lYv3v1bZU=",
    "REPORT_ENCRYPTION_KEY": "50HDzodukoblUGAa24qsFy63JyD-zwv9wkmVrM9Th2M=",
    "GOOGLE_OAUTH_REDIRECT_URI": "https://api.nucleotide.example/gmeet/auth/callback",
    "PUBLIC_API_URL": "https://api.nucleotide.example",
    "SUPPLIER_GSTIN": "27AABCN1234F1Z9",
    "SUPPLIER_LEGAL_NAME": "Nucleotide Genomics Private Limited",
}


def production(**overrides: str | None) -> Settings:
    values = {**SAFE_PRODUCTION, **overrides}
    return Settings(**{k: v for k, v in values.items() if v is not None}, _env_file=None)
