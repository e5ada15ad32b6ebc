"""The default category set: seeded by `POST /categories/bootstrap` and reusable by demo seeds."""

from typing import TypedDict


class DefaultCategory(TypedDict):
    name: str
    slug: str
    description: str
    sort_order: int


DEFAULT_CATEGORIES: list[DefaultCategory] = [
    {
        "name": "Genetic health",
        "slug": "genetic-health",
        "description": "Your genes and what they say about inherited health risks.",
        "sort_order": 10,
    },
    {
        "name": "Reproductive health & fertility",
        "slug": "reproductive-health-fertility",
        "description": "Carrier screening and fertility insights for planning a family.",
        "sort_order": 20,
    },
    {
        "name": "Donor programmes",
        "slug": "donor-programmes",
        "description": "Genetic screening for egg and sperm donors and their clinics.",
        "sort_order": 30,
    },
    {
        "name": "Wellness & lifestyle",
        "slug": "wellness-lifestyle",
        "description": "Nutrition, fitness and sleep, tuned to your DNA.",
        "sort_order": 40,
    },
    {
        "name": "Gut & microbiome",
        "slug": "gut-microbiome",
        "description": "What lives in your gut and how it shapes your health.",
        "sort_order": 50,
    },
    {
        "name": "Family & ancestry",
        "slug": "family-ancestry",
        "description": "Where your family comes from, and traits you share.",
        "sort_order": 60,
    },
]
