"""What the demo's interactions, contracts and consents can be: the kinds of interaction per source
system and channel, with their texts in Korean and English; insurance products; consent choices.

A template says which customers it applies to (``needs``: flags of the systems that know them) and how
much it weighs among a customer's interactions; ``customers.demo.activity`` draws from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# What a customer is known to, as bits: they decide which interactions make sense for them.
POS, ECOMMERCE, APP, WEB, POLICY, EMAIL, PHONE = (1 << bit for bit in range(7))
FLAG_OF_SOURCE = {"pos": POS, "ecommerce": ECOMMERCE, "app": APP, "web": WEB, "policy": POLICY}

# How an interaction is filled beyond its template.
PLAIN, PURCHASE, RETURN, PREMIUM, CLAIM, SURVEY, PRODUCT, POLICY_EVENT = range(8)

INTERACTION_PREFIX = {
    "pos": "T-",
    "ecommerce": "ORD-",
    "web": "WV-",
    "app": "AV-",
    "call_center": "CALL-",
    "policy": "PE-",
    "survey": "SRV-",
    "marketing": "MSG-",
    "crm": "NOTE-",
}
IDENTITY_PREFIX = {
    "pos": "C-",
    "ecommerce": "EC-",
    "app": "APP-",
    "web": "W-",
    "policy": "INS-",
    "call_center": "CC-",
    "marketing": "MK-",
    "survey": "SV-",
}
SIGNUP_SOURCE = {
    "pos": "store signup",
    "ecommerce": "online shop signup",
    "app": "app signup",
    "web": "web signup",
    "policy": "policy application",
    "call_center": "call centre",
    "marketing": "event entry",
    "survey": "survey",
}

# Local hours at which people act, relative weights: quiet at night, busiest in the evening.
HOUR_WEIGHTS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 4, 5, 6, 7, 6, 6, 6, 6, 6, 7, 8, 9, 9, 7, 4]
HISTORY_DAYS = 3 * 365
POOL_SIZE = 4096
NPS_WEIGHTS = [2, 1, 1, 2, 2, 4, 6, 10, 18, 22, 20]  # scores 0..10: mostly passives and promoters


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: it keys the compiled forms
class Template:
    """A kind of interaction as one source system records it, when it applies, and its variants.

    Each variant is a Korean summary, an English one and the properties that go with them; ``mixins``
    are further properties drawn independently (every combination becomes a variant).
    """

    kind: str
    channel: str
    source: str
    weight: float
    effect: int = PLAIN
    needs: int = 0  # every one of these flags
    needs_any: int = 0  # at least one of these flags (0: none needed)
    variants: tuple[tuple[str, str, dict[str, Any]], ...] = (("", "", {}),)
    mixins: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def compiled_variants(self) -> tuple[tuple[str, str, str], ...]:
        """(English summary, Korean summary, properties as JSON) for every variant and mixin combination."""
        combos: list[dict[str, Any]] = [{}]
        for key, values in self.mixins.items():
            combos = [{**combo, key: value} for combo in combos for value in values]
        return tuple(
            (en, ko, json.dumps({**properties, **combo}, ensure_ascii=False))
            for ko, en, properties in self.variants
            for combo in combos
        )


TEMPLATES = [
    Template("purchase", "store", "pos", 6, PURCHASE, needs=POS),
    Template("purchase", "web", "ecommerce", 4, PURCHASE, needs=ECOMMERCE),
    Template("purchase", "app", "ecommerce", 2, PURCHASE, needs=ECOMMERCE | APP),
    # A return takes the source, channel and place of the purchase it returns.
    Template("return", "store", "pos", 0.8, RETURN, needs_any=POS | ECOMMERCE),
    Template(
        "payment",
        "other",
        "policy",
        1.5,
        PREMIUM,
        needs=POLICY,
        variants=(
            ("보험료 자동이체", "Premium paid by direct debit", {"method": "direct_debit"}),
            ("월 보험료 납부", "Monthly premium payment", {"method": "direct_debit"}),
        ),
    ),
    Template(
        "payment",
        "web",
        "policy",
        0.8,
        PREMIUM,
        needs=POLICY,
        variants=(("보험료 온라인 카드 납부", "Premium paid online by card", {"method": "card"}),),
    ),
    Template(
        "sales_contact",
        "agent",
        "policy",
        0.6,
        needs=POLICY,
        variants=(
            ("설계사 상담: 보장 분석", "Agent meeting: coverage review", {"topic": "coverage_review"}),
            ("설계사 방문 상담", "Agent visit", {"topic": "visit"}),
            ("보험 리모델링 상담", "Policy review with an agent", {"topic": "policy_review"}),
        ),
    ),
    Template(
        "sales_contact",
        "store",
        "pos",
        0.5,
        needs=POS,
        variants=(
            ("매장 상담: 러닝화 추천", "In-store advice: running shoes", {"topic": "running_shoes"}),
            ("매장 상담: 사이즈 피팅", "In-store fitting", {"topic": "fitting"}),
            ("매장 상담: 등산화 피팅", "Hiking boots fitting", {"topic": "hiking_boots"}),
        ),
    ),
    Template(
        "sales_contact",
        "phone",
        "call_center",
        0.3,
        needs=PHONE,
        variants=(
            ("아웃바운드 상담: 멤버십 안내", "Outbound call: membership offer", {"topic": "membership"}),
            ("신상품 안내 전화", "Call about new arrivals", {"topic": "new_arrivals"}),
        ),
    ),
    Template(
        "service_call",
        "phone",
        "call_center",
        3,
        variants=(
            ("배송 지연 문의", "Delivery delay", {"reason": "delivery"}),
            ("교환 절차 문의", "How to exchange an item", {"reason": "exchange"}),
            ("사이즈 교환 요청", "Size exchange request", {"reason": "size"}),
            ("포인트 적립 문의", "Loyalty points question", {"reason": "points"}),
            ("결제 오류 문의", "Payment error", {"reason": "payment"}),
            ("주소 변경 요청", "Address change request", {"reason": "address"}),
        ),
        mixins={"duration_s": (95, 180, 240, 420, 610)},
    ),
    Template(
        "web_visit",
        "web",
        "web",
        20,
        needs_any=WEB | ECOMMERCE,
        variants=(
            ("웹사이트 방문: 홈", "Website visit: home", {"page": "/"}),
            ("웹사이트 방문: 세일", "Website visit: sale", {"page": "/sale"}),
            ("웹사이트 방문: 신상품", "Website visit: new arrivals", {"page": "/new"}),
            ("웹사이트 방문: 브랜드관", "Website visit: brands", {"page": "/brands"}),
            ("웹사이트 방문: 남성 신발", "Website visit: men's shoes", {"page": "/men/shoes"}),
            ("웹사이트 방문: 여성 러닝", "Website visit: women's running", {"page": "/women/running"}),
        ),
        mixins={"referrer": ("direct", "naver", "google", "kakao", "instagram", "email")},
    ),
    Template(
        "app_visit",
        "app",
        "app",
        16,
        needs=APP,
        variants=(
            ("앱 실행", "Opened the app", {"screen": "home"}),
            ("앱 방문: 이벤트", "App visit: events", {"screen": "events"}),
            ("앱 방문: 마이페이지", "App visit: my page", {"screen": "my_page"}),
            ("앱 방문: 쿠폰함", "App visit: coupons", {"screen": "coupons"}),
        ),
        mixins={"os": ("ios", "android")},
    ),
    Template(
        "product_view",
        "web",
        "web",
        8,
        PRODUCT,
        needs_any=WEB | ECOMMERCE,
        variants=(("{} 조회", "Viewed {}", {}),),
    ),
    Template("product_view", "app", "app", 5, PRODUCT, needs=APP, variants=(("{} 조회", "Viewed {}", {}),)),
    Template(
        "cart_add",
        "web",
        "web",
        3,
        PRODUCT,
        needs_any=WEB | ECOMMERCE,
        variants=(("{} 장바구니 담기", "Added {} to the cart", {}),),
    ),
    Template(
        "cart_add",
        "app",
        "app",
        2,
        PRODUCT,
        needs=APP,
        variants=(("{} 장바구니 담기", "Added {} to the cart", {}),),
    ),
    Template(
        "email",
        "email",
        "marketing",
        10,
        needs=EMAIL,
        variants=(
            ("[뉴스레터] 이번 주 신상품", "Newsletter: new this week", {"campaign": "weekly_newsletter"}),
            ("[혜택] 회원 전용 20% 쿠폰", "Members' 20% coupon", {"campaign": "member_coupon"}),
            (
                "[안내] 주문하신 상품이 발송되었습니다",
                "Your order has shipped",
                {"campaign": "order_shipped"},
            ),
        ),
        mixins={"opened": (True, False)},
    ),
    Template(
        "sms",
        "sms",
        "marketing",
        4,
        needs=PHONE,
        variants=(
            ("[Web발신] 주말 특가 안내", "Weekend sale", {"campaign": "weekend_sale"}),
            ("[Web발신] 포인트 소멸 예정 안내", "Points expiring soon", {"campaign": "points_expiry"}),
            ("[Web발신] 매장 픽업 준비 완료", "Ready for pickup in store", {"campaign": "pickup_ready"}),
        ),
    ),
    Template(
        "push",
        "push",
        "marketing",
        6,
        needs=APP,
        variants=(
            (
                "장바구니 상품 가격 인하",
                "Price drop on an item in your cart",
                {"campaign": "cart_price_drop"},
            ),
            ("오늘만 무료배송", "Free delivery today only", {"campaign": "free_delivery"}),
            ("관심 브랜드 신상품 입고", "New in from a brand you follow", {"campaign": "brand_new_in"}),
        ),
        mixins={"opened": (True, False)},
    ),
    Template(
        "survey",
        "email",
        "survey",
        0.7,
        SURVEY,
        needs=EMAIL,
        variants=(
            ("구매 만족도 조사 응답", "Post-purchase survey", {"survey": "post_purchase"}),
            ("NPS 설문 응답", "NPS survey", {"survey": "nps_quarterly"}),
        ),
    ),
    Template(
        "survey",
        "app",
        "survey",
        0.5,
        SURVEY,
        needs=APP,
        variants=(("앱 만족도 조사 응답", "In-app satisfaction survey", {"survey": "app_feedback"}),),
    ),
    Template(
        "survey",
        "phone",
        "survey",
        0.3,
        SURVEY,
        needs=PHONE,
        variants=(("해피콜 만족도 조사", "Satisfaction call", {"survey": "happy_call"}),),
    ),
    Template(
        "claim",
        "agent",
        "policy",
        0.3,
        CLAIM,
        needs=POLICY,
        variants=(
            ("자동차 사고 보험금 청구", "Car accident claim", {"cause": "car_accident"}),
            ("실손 의료비 청구", "Medical expense claim", {"cause": "medical"}),
            ("휴대품 손해 청구", "Personal belongings claim", {"cause": "belongings"}),
        ),
    ),
    Template(
        "claim",
        "web",
        "policy",
        0.2,
        CLAIM,
        needs=POLICY,
        variants=(("실손 의료비 온라인 청구", "Medical expense claim online", {"cause": "medical"}),),
    ),
    Template(
        "claim",
        "phone",
        "policy",
        0.2,
        CLAIM,
        needs=POLICY,
        variants=(("사고 접수", "Accident reported by phone", {"cause": "car_accident"}),),
    ),
    Template(
        "contract_change",
        "agent",
        "policy",
        0.3,
        POLICY_EVENT,
        needs=POLICY,
        variants=(
            ("주소 변경", "Address change", {"change": "address"}),
            ("수익자 변경", "Beneficiary change", {"change": "beneficiary"}),
            ("보장 특약 추가", "Rider added", {"change": "rider"}),
            ("납입 방법 변경", "Payment method change", {"change": "payment_method"}),
        ),
    ),
    Template(
        "contract_change",
        "web",
        "policy",
        0.3,
        POLICY_EVENT,
        needs=POLICY,
        variants=(
            ("온라인 납입 방법 변경", "Payment method changed online", {"change": "payment_method"}),
            ("온라인 주소 변경", "Address changed online", {"change": "address"}),
        ),
    ),
    Template(
        "note",
        "other",
        "crm",
        1,
        variants=(
            ("VIP 고객: 신상품 입고 시 연락 희망", "VIP: call when new arrivals come in", {}),
            ("오후 6시 이후 연락 선호", "Prefers calls after 6 pm", {}),
            ("교환 건 처리 완료", "Exchange handled", {}),
            ("불만 접수 후 사과 쿠폰 발급", "Complaint logged, apology coupon issued", {}),
        ),
    ),
]

# Insurance products: kind, (Korean name, English name), term in days (None: for life), monthly premium
# range in thousands of won, and how common the product is.
POLICIES = [
    ("auto", ("다이렉트 자동차보험", "Direct Auto Insurance"), 365, 45, 140, 30),
    ("auto", ("운전자보험 플러스", "Driver Protection Plus"), 365, 15, 40, 8),
    ("health", ("실손의료보험", "Medical Expense Insurance"), 3650, 20, 90, 15),
    ("health", ("암보험 든든플랜", "Cancer Care Plan"), 7300, 30, 120, 10),
    ("life", ("종신보험 프리미엄", "Whole Life Premium"), None, 80, 300, 8),
    ("life", ("정기보험", "Term Life"), 7300, 30, 90, 7),
    ("home", ("주택화재보험", "Home Fire Insurance"), 365, 8, 30, 10),
    ("travel", ("해외여행자보험", "Overseas Travel Insurance"), 14, 9, 60, 7),
    ("savings", ("연금저축보험", "Pension Savings Plan"), 3650, 100, 500, 5),
]
MEMBERSHIP = ("membership", ("멤버십 골드", "Gold Membership"), 365)
CONTRACT_STATUSES = [
    ("active", 70),
    ("expired", 10),
    ("cancelled", 8),
    ("lapsed", 4),
    ("suspended", 3),
    ("quote", 5),
]
CONSENT_CHANGE_SOURCES = ("preference centre", "call centre", "store counter")
# Channel, purpose and the chance that a customer agreed at signup.
EMAIL_MARKETING, EMAIL_PROFILING = ("email", "marketing", 0.55), ("email", "profiling", 0.7)
PHONE_MARKETING = [("sms", "marketing", 0.45), ("phone", "marketing", 0.2)]
PHONE_THIRD_PARTY = ("phone", "third_party", 0.35)
PUSH_MARKETING, PUSH_PROFILING = ("push", "marketing", 0.6), ("push", "profiling", 0.6)
POST_MARKETING = ("post", "marketing", 0.3)
