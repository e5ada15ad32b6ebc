"""The demo shop: the product line, its consents, and which product needs which consent."""

from typing import Any

# Consent texts every demo shop starts with (version 1).
DEMO_CONSENTS: list[dict[str, str]] = [
    {
        "code": "platform_data_processing",
        "title": "Processing of my health data",
        "body": (
            "I allow Nucleotide to collect, store and process the personal and health data of "
            "the person named in this order (including the sample and its results) to perform "
            "the test, produce the report and provide counselling, as described in the privacy "
            "notice. Data is kept in India, is never sold, and I can withdraw this consent at "
            "any time from the app; withdrawal stops further processing but does not undo a "
            "report already produced. (Digital Personal Data Protection Act, 2023)"
        ),
    },
    {
        "code": "genetic_testing",
        "title": "Consent to genetic testing",
        "body": (
            "I understand that this test analyses DNA from my sample, that results may reveal "
            "information about inherited conditions, carrier status or traits that also concern "
            "my blood relatives, and that some findings may be uncertain. I have been offered "
            "genetic counselling before and after testing. My sample is destroyed after 90 days "
            "unless I separately agree to research use."
        ),
    },
    {
        "code": "partner_consent",
        "title": "Partner's consent to a couple test",
        "body": (
            "I agree to be tested together with my partner, and that the combined report will "
            "show results derived from both of our DNA (for example carrier matches or "
            "predicted traits of a future child). Each of us gives this consent separately."
        ),
    },
]

# The welcome coupon every new user can use once.
WELCOME_COUPON: dict[str, Any] = {
    "code": "WELCOME10",
    "description": "10% off your first test, up to Rs 1,000",
    "discount_type": "percent",
    "percent_off": 10,
    "max_discount_paise": 1_000_00,
    "min_order_paise": 1_000_00,
    "usage_limit_per_user": 1,
    # Advertised to every shopper in GET /cart/coupons.
    "public": True,
}

# A targeted coupon: only the phones on its allow-list see or use it (the demo login phone of
# OTP_TEST_NUMBERS, listed before it ever signs up), on couple and family plans, first order only.
TARGETED_COUPON: dict[str, Any] = {
    "code": "FAMILY15",
    "description": "15% off a couple or family test on your first order, up to Rs 2,000",
    "discount_type": "percent",
    "percent_off": 15,
    "max_discount_paise": 2_000_00,
    "usage_limit_per_user": 1,
    "allowed_plan_types": ["couple", "family"],
    "first_order_only": True,
    "targeted": True,
    "public": True,
}
TARGETED_COUPON_PHONES = ["+919999900001"]

# The home carousel a new user sees: one banner opens a product page, one a category's shelf.
# Their pictures are drawn by the seed in these two colours (no image files to ship).
DEMO_BANNERS: list[dict[str, Any]] = [
    {
        "title": "Meet your future child",
        "subtitle": "The Child simulator reads both parents' DNA, now 25% off",
        "action": {"type": "product", "value": "child-simulator"},
        "position": 0,
        "colours": ((36, 84, 160), (240, 180, 60)),
    },
    {
        "title": "Eat, train and sleep for your genes",
        "subtitle": "Wellness tests tuned to your DNA",
        "action": {"type": "category", "value": "wellness-lifestyle"},
        "position": 1,
        "colours": ((30, 130, 90), (250, 240, 220)),
    },
]

PLATFORM = "platform_data_processing"
GENETIC = "genetic_testing"
PARTNER = "partner_consent"

IMAGE_BASE = "https://cdn.nucleotide.example/products"


def _rupees(amount: int) -> int:
    return amount * 100


def _product(
    name: str,
    slug: str,
    category: str,
    plan_type: str,
    price: int,
    mrp: int,
    sample_type: str,
    turnaround_days: int,
    short: str,
    description: str,
    tags: list[str],
    consents: list[str],
    sort_order: int,
) -> dict[str, Any]:
    return {
        "name": name,
        "slug": slug,
        "category_slug": category,
        "plan_type": plan_type,
        "price_paise": _rupees(price),
        "mrp_paise": _rupees(mrp),
        "sample_type": sample_type,
        "turnaround_days": turnaround_days,
        "short_description": short,
        "description": description,
        "tags": tags,
        "images": [f"{IMAGE_BASE}/{slug}.jpg"],
        "consents": consents,
        "sort_order": sort_order,
    }


DEMO_PRODUCTS: list[dict[str, Any]] = [
    _product(
        "My genes",
        "my-genes",
        "genetic-health",
        "single",
        14999,
        24999,
        "saliva",
        28,
        "Whole-exome insights into your inherited health, traits and medicines.",
        "Sequencing of the protein-coding part of your genome, read by clinical geneticists: "
        "inherited risks for heart, cancer and metabolic conditions, carrier status, how you "
        "respond to 100+ common medicines, and traits. Includes a counselling session.",
        ["exome", "dna", "hereditary", "pharmacogenomics", "carrier"],
        [PLATFORM, GENETIC],
        10,
    ),
    _product(
        "Gut",
        "gut",
        "gut-microbiome",
        "single",
        8999,
        12999,
        "stool",
        21,
        "Your gut microbiome mapped, with a diet plan to match.",
        "Shotgun metagenomic sequencing of a home stool sample: which bacteria live in your "
        "gut, how diverse they are, markers linked to bloating, IBS and blood sugar, and a "
        "personalised food plan from our nutritionists.",
        ["microbiome", "digestion", "ibs", "probiotics"],
        [PLATFORM],
        20,
    ),
    _product(
        "Biomarkers",
        "biomarkers",
        "wellness-lifestyle",
        "single",
        3499,
        4999,
        "blood",
        3,
        "80+ blood markers: thyroid, vitamins, lipids, HbA1c, liver and kidney.",
        "A fasting blood panel collected at home by a certified phlebotomist: complete blood "
        "count, lipid profile, HbA1c, thyroid (TSH, T3, T4), vitamin D and B12, iron studies, "
        "liver and kidney function.",
        ["blood test", "vitamin d", "thyroid", "cholesterol", "diabetes"],
        [PLATFORM],
        30,
    ),
    _product(
        "Multi-modal",
        "multi-modal",
        "genetic-health",
        "single",
        34999,
        49999,
        "blood",
        35,
        "Genes, gut and blood together: the complete picture in one report.",
        "Our most complete programme: exome sequencing, gut microbiome and an 80-marker blood "
        "panel, integrated into one report with a 12-month action plan and two counselling "
        "sessions.",
        ["exome", "microbiome", "blood test", "comprehensive"],
        [PLATFORM, GENETIC],
        40,
    ),
    _product(
        "Donate sperm",
        "donate-sperm",
        "donor-programmes",
        "single",
        11999,
        15999,
        "blood",
        21,
        "Genetic screening for sperm donors, accepted by partner ART banks.",
        "Expanded carrier screening for 300+ recessive conditions, karyotype and infectious "
        "disease markers required of sperm donors under the ART (Regulation) Act, 2021, with a "
        "report you can share with the bank.",
        ["donor", "sperm", "carrier screening", "art act"],
        [PLATFORM, GENETIC],
        50,
    ),
    _product(
        "Donate egg",
        "donate-egg",
        "donor-programmes",
        "single",
        11999,
        15999,
        "blood",
        21,
        "Genetic screening for egg donors, accepted by partner ART clinics.",
        "Expanded carrier screening for 300+ recessive conditions, karyotype and AMH, as "
        "required of oocyte donors under the ART (Regulation) Act, 2021.",
        ["donor", "egg", "oocyte", "carrier screening", "art act"],
        [PLATFORM, GENETIC],
        60,
    ),
    _product(
        "Receive sperm",
        "receive-sperm",
        "donor-programmes",
        "single",
        12999,
        17999,
        "blood",
        21,
        "Carrier screening for recipients, matched against donor profiles.",
        "Expanded carrier screening for the intended mother, matched against the screened "
        "donor's results so you can choose a donor with no shared recessive risks.",
        ["recipient", "sperm", "donor matching", "carrier screening"],
        [PLATFORM, GENETIC],
        70,
    ),
    _product(
        "Receive egg",
        "receive-egg",
        "donor-programmes",
        "single",
        12999,
        17999,
        "blood",
        21,
        "Carrier screening for recipients, matched against egg donor profiles.",
        "Expanded carrier screening for the intended father, matched against the screened egg "
        "donor's results to rule out shared recessive risks.",
        ["recipient", "egg", "donor matching", "carrier screening"],
        [PLATFORM, GENETIC],
        80,
    ),
    _product(
        "Family tree",
        "family-tree",
        "family-ancestry",
        "family",
        39999,
        54999,
        "saliva",
        42,
        "Ancestry and shared traits for 3 to 4 family members.",
        "Genotyping for three or four relatives: maternal and paternal lineages, ancestral "
        "regions across South Asia and the world, and which traits and inherited risks run in "
        "the family.",
        ["ancestry", "family", "lineage", "heritage"],
        [PLATFORM, GENETIC],
        90,
    ),
    _product(
        "Family planning",
        "family-planning",
        "reproductive-health-fertility",
        "couple",
        24999,
        34999,
        "blood",
        28,
        "Couple carrier screening before pregnancy: are you both carriers?",
        "Both partners are screened for 300+ recessive conditions common in India (including "
        "beta thalassaemia and sickle cell disease). The couple report shows shared carrier "
        "risks and options, with a counselling session for both of you.",
        ["couple", "carrier screening", "pregnancy", "thalassaemia"],
        [PLATFORM, GENETIC, PARTNER],
        100,
    ),
    _product(
        "Child simulator",
        "child-simulator",
        "reproductive-health-fertility",
        "couple",
        29999,
        39999,
        "saliva",
        35,
        "What your future child might inherit from the two of you.",
        "From both partners' DNA we simulate thousands of possible children: the chance of "
        "inherited conditions, and of traits such as eye colour and height, explained by a "
        "genetic counsellor.",
        ["couple", "child", "traits", "simulation"],
        [PLATFORM, GENETIC, PARTNER],
        110,
    ),
    _product(
        "IVF",
        "ivf",
        "reproductive-health-fertility",
        "couple",
        44999,
        59999,
        "blood",
        21,
        "Genetic work-up for couples starting IVF.",
        "Carrier screening and karyotype for both partners, with a report your fertility "
        "clinic can use to plan embryo testing (PGT-M/PGT-A).",
        ["ivf", "couple", "fertility", "pgt", "karyotype"],
        [PLATFORM, GENETIC, PARTNER],
        120,
    ),
    _product(
        "Life",
        "life",
        "genetic-health",
        "single",
        19999,
        27999,
        "saliva",
        28,
        "Healthy ageing: longevity, heart and brain genes.",
        "Genes linked to heart health, memory, bone density and how you age, with a lifestyle "
        "plan to work with your biology.",
        ["longevity", "ageing", "heart", "brain"],
        [PLATFORM, GENETIC],
        130,
    ),
    _product(
        "Health",
        "health",
        "genetic-health",
        "single",
        9999,
        14999,
        "saliva",
        28,
        "Inherited risks for common conditions, and what to do about them.",
        "Screening of genes linked to hereditary cancers (BRCA1/2 and others), cardiomyopathy, "
        "familial hypercholesterolaemia and diabetes, with guidance on screening schedules.",
        ["hereditary", "cancer", "brca", "heart"],
        [PLATFORM, GENETIC],
        140,
    ),
    _product(
        "Fitness",
        "fitness",
        "wellness-lifestyle",
        "single",
        6999,
        9999,
        "saliva",
        21,
        "Train with your genes: power, endurance and recovery.",
        "Variants linked to muscle type, endurance, injury risk and recovery, with a training "
        "plan built by our coaches.",
        ["fitness", "sports", "training", "muscle"],
        [PLATFORM, GENETIC],
        150,
    ),
    _product(
        "Nutrition",
        "nutrition",
        "wellness-lifestyle",
        "single",
        6999,
        9999,
        "saliva",
        21,
        "How your body handles carbs, fats, caffeine and vitamins.",
        "Genes behind metabolism of carbohydrates, fats, caffeine and lactose, and your "
        "vitamin needs, turned into an Indian meal plan by our dietitians.",
        ["nutrition", "diet", "metabolism", "vitamins"],
        [PLATFORM, GENETIC],
        160,
    ),
    _product(
        "Food",
        "food",
        "wellness-lifestyle",
        "single",
        5499,
        7999,
        "saliva",
        21,
        "Food intolerances and sensitivities written in your DNA.",
        "Genetic markers for lactose intolerance, gluten sensitivity (HLA-DQ2/DQ8), salt and "
        "bitter taste, with swaps for everyday Indian food.",
        ["food", "lactose", "gluten", "intolerance"],
        [PLATFORM, GENETIC],
        170,
    ),
]
