"""The demo catalog: stores, warehouses and the online shop; brands (suppliers) and their products.

Brands are shoe, apparel and outdoor labels, several of them Korean; past the named ones, made-up
brands fill any requested number. Products get a category-typed price and a cost below it. Sales are
skewed (a few products sell most), which ``Catalog.popular`` encodes for the generators of purchases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm.demo.context import SeedContext
from crm.models import Location, Product, Supplier

# code, name, region: the home region decides which store a customer usually visits.
STORES = [
    ("gangnam", "강남점 (Gangnam)", "서울"),
    ("myeongdong", "명동점 (Myeongdong)", "서울"),
    ("hongdae", "홍대점 (Hongdae)", "서울"),
    ("jamsil", "잠실점 (Jamsil)", "서울"),
    ("pangyo", "판교점 (Pangyo)", "경기"),
    ("suwon", "수원점 (Suwon)", "경기"),
    ("songdo", "송도점 (Songdo)", "인천"),
    ("seomyeon", "서면점 (Seomyeon)", "부산"),
    ("haeundae", "해운대점 (Haeundae)", "부산"),
    ("dongseongro", "동성로점 (Dongseong-ro, Daegu)", "대구"),
    ("dunsan", "둔산점 (Dunsan, Daejeon)", "대전"),
    ("chungjang", "충장로점 (Chungjang-ro, Gwangju)", "광주"),
    ("jeju", "제주점 (Jeju)", "제주"),
]
WAREHOUSES = [
    ("icheon-dc", "이천 물류센터 (Icheon distribution centre)", "경기"),
    ("gimhae-dc", "김해 물류센터 (Gimhae distribution centre)", "경남"),
]
ONLINE_SHOP = ("online", "온라인몰 (Online shop)", "")

# Categories by kind of brand, with a price range in thousands of won and words for model names.
CATEGORIES: dict[str, list[tuple[str, int, int, list[str]]]] = {
    "shoes": [
        ("Running shoes", 89, 239, ["Swift", "Glide", "Tempo", "Pace", "Stride", "Aero", "Flux", "Rebound"]),
        ("Sneakers", 69, 189, ["Court", "Classic", "Retro", "Street", "Canvas", "Heritage"]),
        ("Basketball shoes", 119, 259, ["Dunk", "Rim", "Post", "Fastbreak"]),
        ("Sandals", 29, 89, ["Slide", "Strap", "Sport Sandal", "Recovery"]),
    ],
    "apparel": [
        ("T-shirts", 19, 59, ["Essential Tee", "Logo Tee", "Oversized Tee", "Pocket Tee"]),
        ("Hoodies", 49, 139, ["Hoodie", "Zip Hoodie", "Fleece Hoodie"]),
        ("Sweatshirts", 45, 119, ["Crewneck", "Varsity Sweatshirt"]),
        ("Jackets", 99, 299, ["Windbreaker", "Track Jacket", "Coach Jacket", "Varsity Jacket"]),
        ("Pants", 39, 129, ["Jogger", "Wide Pants", "Cargo Pants", "Denim"]),
        ("Caps", 29, 55, ["Ball Cap", "Bucket Hat", "Beanie"]),
        ("Socks", 9, 19, ["Crew Socks 3P", "Ankle Socks 3P"]),
    ],
    "outdoor": [
        ("Hiking boots", 159, 329, ["Trail GTX", "Summit Mid", "Ridge Low"]),
        ("Down jackets", 199, 599, ["Down Parka", "Light Down", "Expedition Down"]),
        ("Fleece", 59, 159, ["Fleece Jacket", "Polar Fleece"]),
        ("Rain jackets", 129, 349, ["Shell Jacket", "Rain Jacket"]),
        ("Backpacks", 49, 189, ["Daypack 20L", "Trekking Pack 35L", "Commuter Pack"]),
        ("Trekking pants", 69, 149, ["Trek Pants", "Stretch Pants"]),
    ],
}

# code, name, SKU prefix, kind. The first two are supplier A and supplier B of the demo logins.
BRANDS = [
    ("new-balance", "New Balance", "NB", "shoes"),
    ("nike", "Nike", "NK", "shoes"),
    ("adidas", "Adidas", "AD", "shoes"),
    ("fila", "FILA", "FL", "shoes"),
    ("asics", "ASICS", "AS", "shoes"),
    ("prospecs", "Prospecs", "PS", "shoes"),
    ("the-north-face", "The North Face", "NF", "outdoor"),
    ("k2", "K2", "K2", "outdoor"),
    ("mlb-korea", "MLB Korea", "ML", "apparel"),
    ("black-yak", "Black Yak", "BY", "outdoor"),
    ("converse", "Converse", "CV", "shoes"),
    ("spao", "SPAO", "SP", "apparel"),
    ("kolon-sport", "Kolon Sport", "KS", "outdoor"),
    ("vans", "Vans", "VN", "shoes"),
    ("musinsa-standard", "Musinsa Standard", "MS", "apparel"),
    ("discovery-expedition", "Discovery Expedition", "DX", "outdoor"),
    ("puma", "Puma", "PM", "shoes"),
    ("nepa", "NEPA", "NP", "outdoor"),
    ("hoka", "HOKA", "HK", "shoes"),
    ("8seconds", "8seconds", "ES", "apparel"),
    ("columbia", "Columbia", "CO", "outdoor"),
    ("skechers", "Skechers", "SK", "shoes"),
    ("beanpole", "Beanpole", "BP", "apparel"),
    ("salomon", "Salomon", "SA", "outdoor"),
    ("covernat", "Covernat", "CN", "apparel"),
    ("crocs", "Crocs", "CR", "shoes"),
    ("thisisneverthat", "thisisneverthat", "TT", "apparel"),
    ("dr-martens", "Dr. Martens", "DM", "shoes"),
    ("eider", "Eider", "EI", "outdoor"),
    ("birkenstock", "Birkenstock", "BK", "shoes"),
]
# Made-up brands beyond the named ones: every adjective with every noun, then numbered.
BRAND_ADJECTIVES = [
    "Urban",
    "Peak",
    "Seoul",
    "Han River",
    "North",
    "Blue",
    "Daily",
    "Field",
    "Harbor",
    "Maple",
    "Stone",
    "Iron",
    "Silver",
    "Wild",
    "Coast",
    "Summit",
    "Metro",
    "Jeju",
    "Pine",
    "Granite",
]
BRAND_NOUNS = [
    "Works",
    "Outfitters",
    "Studio",
    "Athletics",
    "Lab",
    "Supply",
    "Goods",
    "Trail",
    "Club",
    "Standard",
]

POPULAR_POOL_SIZE = 1 << 16


@dataclass
class Catalog:
    """The catalog's ids and facts that other apps' generators need, indexed by product position."""

    supplier_ids: list[int]
    supplier_names: list[str]
    product_ids: list[int] = field(default_factory=list)
    product_supplier_ids: list[int] = field(default_factory=list)
    product_names: list[str] = field(default_factory=list)
    product_prices: list[int] = field(default_factory=list)  # won
    product_costs: list[int] = field(default_factory=list)  # won
    # Product positions drawn by popularity: a uniform pick from this list is a popularity-weighted pick.
    popular: list[int] = field(default_factory=list)
    store_ids: list[int] = field(default_factory=list)
    store_ids_by_region: dict[str, list[int]] = field(default_factory=dict)
    store_names: dict[int, str] = field(default_factory=dict)
    warehouse_ids: list[int] = field(default_factory=list)
    online_shop_id: int = 0


def catalog_of(ctx: SeedContext) -> Catalog:
    """The catalog the crm app seeded, for the apps to its right."""
    catalog: Catalog = ctx.shared["crm.catalog"]
    return catalog


def seed_locations(ctx: SeedContext) -> tuple[list[int], list[int], int]:
    """Stores, warehouses and the online shop; returns their ids in that order."""
    now = ctx.clock.text(ctx.clock.now)
    next_id = ctx.next_id(Location)
    rows: list[tuple[Any, ...]] = []
    for kind, places in (
        (Location.Kind.STORE, STORES),
        (Location.Kind.WAREHOUSE, WAREHOUSES),
        (Location.Kind.ONLINE, [ONLINE_SHOP]),
    ):
        for offset, (code, name, region) in enumerate(places, start=len(rows)):
            rows.append((next_id + offset, now, now, code, name, str(kind), region))
    ctx.copy_rows(Location, ["id", "created_at", "updated_at", "code", "name", "kind", "region"], rows)
    ctx.sync_sequences(Location)
    ids = [row[0] for row in rows]
    return ids[: len(STORES)], ids[len(STORES) : len(STORES) + len(WAREHOUSES)], ids[-1]


def brand(position: int) -> tuple[str, str, str, str]:
    """The code, name, SKU prefix and kind of the brand at ``position``, named or made up."""
    if position < len(BRANDS):
        return BRANDS[position]
    made_up = position - len(BRANDS)
    combinations = len(BRAND_ADJECTIVES) * len(BRAND_NOUNS)
    adjective = BRAND_ADJECTIVES[made_up % len(BRAND_ADJECTIVES)]
    noun = BRAND_NOUNS[made_up // len(BRAND_ADJECTIVES) % len(BRAND_NOUNS)]
    name = f"{adjective} {noun}" + (f" {made_up // combinations + 1}" if made_up >= combinations else "")
    code = name.lower().replace(" ", "-")
    prefix = "".join(word[0] for word in name.split()[:2]).upper() + str(made_up)
    return code, name, prefix, ("shoes", "apparel", "outdoor")[made_up % 3]


def seed_catalog(ctx: SeedContext) -> Catalog:
    """Locations, suppliers and products, through COPY; the catalog is returned for other apps."""
    rng = ctx.rng
    now = ctx.clock.text(ctx.clock.now)
    store_ids, warehouse_ids, online_shop_id = seed_locations(ctx)

    first_supplier = ctx.next_id(Supplier)
    brands = [brand(position) for position in range(ctx.options.suppliers)]
    supplier_ids = list(range(first_supplier, first_supplier + len(brands)))
    ctx.copy_rows(
        Supplier,
        ["id", "created_at", "updated_at", "code", "name", "contact_email", "is_active"],
        (
            (supplier_id, now, now, code, name, f"partners@{code}.example.com", position % 25 != 24)
            for position, (supplier_id, (code, name, _prefix, _kind)) in enumerate(
                zip(supplier_ids, brands, strict=True)
            )
        ),
    )
    catalog = Catalog(
        supplier_ids=supplier_ids, supplier_names=[name for _code, name, _prefix, _kind in brands]
    )
    catalog.store_ids, catalog.warehouse_ids, catalog.online_shop_id = (
        store_ids,
        warehouse_ids,
        online_shop_id,
    )
    for store_id, (_code, name, region) in zip(store_ids, STORES, strict=True):
        catalog.store_ids_by_region.setdefault(region, []).append(store_id)
        catalog.store_names[store_id] = name

    # Suppliers' catalogs differ in size like real ones: the first brands carry the most products.
    supplier_weights = [1 / (position + 2) for position in range(len(brands))]
    owners = rng.choices(range(len(brands)), weights=supplier_weights, k=ctx.options.products)
    first_product = ctx.next_id(Product)
    rows: list[tuple[Any, ...]] = []
    for position, owner in enumerate(owners):
        _code, brand_name, prefix, kind = brands[owner]
        category, low, high, words = CATEGORIES[kind][int(rng.random() * len(CATEGORIES[kind]))]
        price = (low + int(rng.random() * (high - low + 1))) * 1000
        cost = int(round(price * (0.35 + rng.random() * 0.3), -2))
        name = f"{brand_name} {words[int(rng.random() * len(words))]} {100 + int(rng.random() * 900)}"
        product_id = first_product + position
        rows.append(
            (
                product_id,
                now,
                now,
                supplier_ids[owner],
                f"{prefix}-{position + 1:06d}",
                name,
                category,
                "KRW",
                f"{cost}.00",
                f"{price}.00",
                rng.random() > 0.03,
            )
        )
        catalog.product_ids.append(product_id)
        catalog.product_supplier_ids.append(supplier_ids[owner])
        catalog.product_names.append(name)
        catalog.product_prices.append(price)
        catalog.product_costs.append(cost)
    columns = [
        "id",
        "created_at",
        "updated_at",
        "supplier_id",
        "sku",
        "name",
        "category",
        "currency",
        "cost",
        "price",
        "is_active",
    ]
    with ctx.bulk_load(Product):
        ctx.copy_rows(Product, columns, rows)
    ctx.sync_sequences(Supplier, Product)
    ctx.analyze(Supplier, Product)

    # Zipf-like popularity: the product at rank r sells in proportion to 1 / (r + 10).
    ranks = list(range(len(rows)))
    rng.shuffle(ranks)
    catalog.popular = rng.choices(
        ranks, weights=[1 / (rank + 10) for rank in range(len(ranks))], k=POPULAR_POOL_SIZE
    )
    return catalog
