"""Demo people: Korean and English names, emails, phones in the forms people type them, addresses.

About 80% of customers have Korean names and live in Korea; the others have English names, about half
of them living in Korea and half abroad, where the online shop charges USD (JPY in Japan). Emails use
reserved example domains and phones abroad use fictional ranges, so that no campaign run on demo data
can reach a real person.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from crm.demo import Clock

T = TypeVar("T")


def _words(text: str) -> list[str]:
    """The words of a text: long name lists read better as one string."""
    return text.split()


def _names(text: str) -> list[tuple[str, str]]:
    """Pairs of a Korean name and its romanisation, from "민지 minji, 서연 seoyeon"."""
    return [(korean, latin) for korean, latin in (pair.split() for pair in text.split(","))]


def _family_names(text: str) -> list[tuple[str, str, float]]:
    """Triples of a family name, its romanisation and its share, from "김 kim 21.5, 이 lee 14.7"."""
    return [
        (korean, latin, float(share)) for korean, latin, share in (entry.split() for entry in text.split(","))
    ]


# Family names with their usual romanisation and their share of the population, in percent.
KOREAN_FAMILY_NAMES = _family_names(
    "김 kim 21.5, 이 lee 14.7, 박 park 8.4, 최 choi 4.7, 정 jung 4.3, 강 kang 2.3, 조 cho 2.1, 윤 yoon 2.0, "
    "장 jang 2.0, 임 lim 1.7, 한 han 1.5, 오 oh 1.5, 서 seo 1.4, 신 shin 1.4, 권 kwon 1.4, 황 hwang 1.4, "
    "안 ahn 1.4, 송 song 1.3, 류 ryu 1.2, 전 jeon 1.1, 홍 hong 1.1, 고 ko 0.9, 문 moon 0.9, 양 yang 0.9, "
    "손 son 0.9, 배 bae 0.8, 백 baek 0.8, 허 heo 0.6, 유 yoo 0.6, 남 nam 0.6"
)
KOREAN_GIVEN_NAMES = {
    "female": _names(
        "민지 minji, 서연 seoyeon, 서윤 seoyun, 지우 jiwoo, 서현 seohyun, 민서 minseo, 하은 haeun, "
        "하윤 hayun, 윤서 yunseo, 지민 jimin, 지유 jiyu, 채원 chaewon, 지원 jiwon, 수아 sua, 수빈 subin, "
        "예은 yeeun, 지은 jieun, 은지 eunji, 혜진 hyejin, 유진 yujin, 소연 soyeon, 미영 miyoung, "
        "영희 younghee, 정은 jungeun, 현정 hyunjung, 수진 sujin, 다은 daeun, 예린 yerin, 나연 nayeon, 하린 harin"
    ),
    "male": _names(
        "민준 minjun, 서준 seojun, 도윤 doyun, 예준 yejun, 시우 siwoo, 하준 hajun, 지호 jiho, 주원 juwon, "
        "지후 jihu, 준우 junwoo, 준서 junseo, 건우 gunwoo, 현우 hyunwoo, 우진 woojin, 선우 sunwoo, "
        "지훈 jihoon, 성민 sungmin, 동현 donghyun, 상훈 sanghoon, 정훈 junghoon, 영수 youngsoo, "
        "철수 chulsoo, 재현 jaehyun, 승민 seungmin, 태윤 taeyun, 민재 minjae, 성호 sungho, 진우 jinwoo, "
        "현준 hyunjun, 영호 youngho"
    ),
}
ENGLISH_GIVEN_NAMES = {
    "female": _words(
        "Emily Olivia Emma Sophia Ava Grace Chloe Hannah Sarah Jessica Amelia Charlotte Lily Mia Rachel"
    ),
    "male": _words(
        "James Daniel Michael David Ethan Noah Liam Lucas Benjamin Matthew Andrew Ryan Thomas William Oliver"
    ),
}
ENGLISH_FAMILY_NAMES = _words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Anderson Thomas Moore Martin Clark Walker "
    "Hall Young King Wright Scott"
)
# Mail providers under the reserved .example top-level domain (RFC 2606): they look like what people use
# but deliver nowhere, and customers.contact does not take them for placeholders (example.com it does).
KOREAN_EMAIL_DOMAINS = [
    ("naver.example", 38),
    ("gmail.example", 25),
    ("daum.example", 14),
    ("kakao.example", 12),
    ("hanmail.example", 7),
    ("nate.example", 4),
]
ENGLISH_EMAIL_DOMAINS = [
    ("gmail.example", 50),
    ("outlook.example", 20),
    ("yahoo.example", 15),
    ("icloud.example", 15),
]


@dataclass(frozen=True)
class Region:
    """A Korean province or metropolitan city: its short name (the ``region`` field), its full name and
    districts for addresses, and the first two digits of its postal codes."""

    short: str
    full: str
    districts: tuple[str, ...]
    postal_from: int
    postal_to: int
    population: float  # share in percent, for drawing


REGIONS = [
    Region(
        "서울",
        "서울특별시",
        (
            "강남구",
            "서초구",
            "송파구",
            "마포구",
            "종로구",
            "용산구",
            "성동구",
            "영등포구",
            "강서구",
            "노원구",
            "관악구",
        ),
        1,
        8,
        18.6,
    ),
    Region(
        "경기",
        "경기도",
        (
            "성남시 분당구",
            "수원시 영통구",
            "고양시 일산동구",
            "용인시 수지구",
            "화성시",
            "부천시",
            "안양시 동안구",
            "남양주시",
        ),
        10,
        18,
        26.2,
    ),
    Region("부산", "부산광역시", ("해운대구", "부산진구", "수영구", "동래구", "남구"), 46, 49, 6.5),
    Region("인천", "인천광역시", ("연수구", "남동구", "부평구", "서구"), 21, 23, 5.8),
    Region("대구", "대구광역시", ("수성구", "중구", "달서구"), 41, 43, 4.6),
    Region("대전", "대전광역시", ("유성구", "서구", "중구"), 34, 35, 2.8),
    Region("광주", "광주광역시", ("서구", "북구", "광산구"), 61, 62, 2.8),
    Region("울산", "울산광역시", ("남구", "중구"), 44, 45, 2.1),
    Region("세종", "세종특별자치시", ("",), 30, 30, 0.7),
    Region("강원", "강원특별자치도", ("춘천시", "원주시", "강릉시"), 24, 26, 3.0),
    Region("충북", "충청북도", ("청주시 흥덕구", "충주시"), 27, 29, 3.1),
    Region("충남", "충청남도", ("천안시 서북구", "아산시"), 31, 33, 4.2),
    Region("전북", "전북특별자치도", ("전주시 완산구", "군산시"), 54, 56, 3.4),
    Region("전남", "전라남도", ("여수시", "순천시", "목포시"), 57, 60, 3.5),
    Region("경북", "경상북도", ("포항시 남구", "구미시", "경주시"), 36, 40, 5.0),
    Region("경남", "경상남도", ("창원시 성산구", "김해시", "진주시"), 50, 53, 6.4),
    Region("제주", "제주특별자치도", ("제주시", "서귀포시"), 63, 63, 1.3),
]
# Road names found in many towns, and the well-known ones of the big cities.
ROADS = ("중앙로", "번영로", "문화로", "시청로", "대학로", "공원로", "역전로", "새마을로", "충렬로", "평화로")
CITY_ROADS = {
    "서울": ("테헤란로", "강남대로", "올림픽로", "세종대로", "한강대로", "월드컵로", "봉은사로", "도산대로"),
    "부산": ("해운대로", "가야대로", "중앙대로", "수영로"),
    "대구": ("동성로", "달구벌대로"),
    "대전": ("둔산대로", "대덕대로"),
    "광주": ("상무대로", "금남로"),
    "인천": ("인주대로", "컨벤시아대로"),
}


@dataclass(frozen=True)
class Country:
    """A country where some customers live: the region text, the shop's currency there, and fictional
    addresses and phone ranges."""

    region: str
    currency: str
    addresses: tuple[tuple[str, str], ...]  # (address, postal code)
    phone_prefix: str  # as typed, followed by the subscriber digits
    e164_prefix: str
    digits: int
    weight: int


COUNTRIES = [
    Country(
        "United States",
        "USD",
        (
            ("350 5th Ave, New York, NY", "10118"),
            ("1 Market St, San Francisco, CA", "94105"),
            ("233 S Wacker Dr, Chicago, IL", "60606"),
            ("600 Congress Ave, Austin, TX", "78701"),
            ("400 Broad St, Seattle, WA", "98109"),
        ),
        "+1 212-555-01",
        "+121255501",
        2,
        45,
    ),  # 555-0100..0199: reserved for fiction
    Country(
        "Japan",
        "JPY",
        (
            ("1-2-3 Jingumae, Shibuya-ku, Tokyo", "150-0001"),
            ("2-4-1 Umeda, Kita-ku, Osaka", "530-0001"),
            ("3-1 Marunouchi, Chiyoda-ku, Tokyo", "100-0005"),
        ),
        "+81 90-0000-",
        "+819000000",
        4,
        20,
    ),  # 090-0000: not allocated
    Country(
        "United Kingdom",
        "USD",
        (("221B Baker St, London", "NW1 6XE"), ("1 Deansgate, Manchester", "M3 1AZ")),
        "+44 7700 900",
        "+447700900",
        3,
        15,
    ),  # Ofcom's drama range
    Country(
        "Canada",
        "USD",
        (("290 Bremner Blvd, Toronto, ON", "M5V 3L9"), ("1055 Canada Pl, Vancouver, BC", "V6C 0C3")),
        "+1 416-555-01",
        "+141655501",
        2,
        10,
    ),
    Country(
        "Australia",
        "USD",
        (("2 Macquarie St, Sydney NSW", "2000"), ("1 Flinders St, Melbourne VIC", "3000")),
        "+61 491 570 ",
        "+61491570",
        3,
        10,
    ),  # ACMA's fictional mobile range
]

# Sources a customer may be known to, with the chance of each, at home and abroad.
IDENTITY_CHANCES_KOREA = [
    ("pos", 0.6),
    ("ecommerce", 0.35),
    ("app", 0.45),
    ("web", 0.45),
    ("policy", 0.25),
    ("call_center", 0.12),
    ("marketing", 0.15),
    ("survey", 0.05),
]
IDENTITY_CHANCES_ABROAD = [
    ("ecommerce", 0.95),
    ("app", 0.25),
    ("web", 0.4),
    ("marketing", 0.2),
    ("call_center", 0.05),
    ("survey", 0.05),
]


@dataclass(slots=True)
class Person:
    """One customer's profile, as the customer row holds it and as activity generation needs it."""

    id: int
    name: str
    email: str
    phone: str
    phone_normalized: str
    birth_date: str | None
    gender: str
    address: str
    postal_code: str
    region: str
    preferred_language: str
    signup_at: int  # epoch seconds
    korean: bool  # writes and reads Korean: summaries and product names in Korean
    currency: str  # what the online shop charges this customer
    sources: tuple[
        str, ...
    ]  # source-system codes this customer has an identity in, first = where they signed up


class People:
    """Draws people; every draw comes from the seeded ``rng``, so a seed gives the same people."""

    def __init__(self, rng: random.Random, clock: Clock, activity_times: list[int]) -> None:
        self.rng = rng
        self.clock = clock
        self.activity_times = activity_times
        self.today = dt.datetime.fromtimestamp(clock.local_midnight + 43200, tz=dt.UTC).date().toordinal()
        # Weighted draws become uniform picks from pools drawn once.
        self.family_names = rng.choices(
            KOREAN_FAMILY_NAMES, weights=[w for *_, w in KOREAN_FAMILY_NAMES], k=4096
        )
        self.regions = rng.choices(REGIONS, weights=[region.population for region in REGIONS], k=4096)
        self.countries = rng.choices(COUNTRIES, weights=[country.weight for country in COUNTRIES], k=1024)
        self.domains = [
            rng.choices([d for d, _ in domains], weights=[w for _, w in domains], k=1024)
            for domains in (ENGLISH_EMAIL_DOMAINS, KOREAN_EMAIL_DOMAINS)
        ]

    def person(self, customer_id: int) -> Person:
        """A new person with the given customer id (which also keeps their email unique)."""
        rnd = self.rng.random
        gender = "female" if rnd() < 0.52 else "male"
        korean_name = rnd() < 0.8
        abroad = not korean_name and rnd() < 0.55
        if korean_name:
            family, family_latin, _share = self.family_names[int(rnd() * 4096)]
            given, given_latin = _pick(KOREAN_GIVEN_NAMES[gender], rnd)
            name = family + given
            language = "ko" if rnd() < 0.95 else ""
        else:
            given = given_latin = _pick(ENGLISH_GIVEN_NAMES[gender], rnd)
            family = family_latin = _pick(ENGLISH_FAMILY_NAMES, rnd)
            name = f"{given} {family}"
            draw = rnd()
            language = "en" if draw < 0.8 else ("ko" if draw < 0.9 and not abroad else "")
        email = (
            self.email(customer_id, given_latin.lower(), family_latin.lower(), korean_name)
            if rnd() < 0.88
            else ""
        )
        if abroad:
            country = self.countries[int(rnd() * 1024)]
            address, postal_code = _pick(country.addresses, rnd)
            subscriber = f"{int(rnd() * 10**country.digits):0{country.digits}d}"
            phone, phone_normalized = country.phone_prefix + subscriber, country.e164_prefix + subscriber
            region, currency = country.region, country.currency
        else:
            phone, phone_normalized = self.korean_mobile() if rnd() < 0.95 else ("", "")
            home = self.regions[int(rnd() * 4096)]
            address, postal_code = self.korean_address(home) if rnd() < 0.92 else ("", "")
            region, currency = home.short, "KRW"
        draw = rnd()
        return Person(
            id=customer_id,
            name=name,
            email=email,
            phone=phone,
            phone_normalized=phone_normalized,
            birth_date=self.birth_date() if rnd() < 0.96 else None,
            gender="" if draw < 0.03 else ("other" if draw < 0.04 else gender),
            address=address,
            postal_code=postal_code,
            region=region,
            preferred_language=language,
            signup_at=self.signup(),
            korean=language == "ko" or (korean_name and language == ""),
            currency=currency,
            sources=self.sources(IDENTITY_CHANCES_ABROAD if abroad else IDENTITY_CHANCES_KOREA),
        )

    def email(self, customer_id: int, given: str, family: str, korean: bool) -> str:
        """An address at an example domain, in one of the shapes people choose; the id keeps it unique."""
        rnd = self.rng.random
        draw = rnd()
        if draw < 0.45:
            local = f"{given}.{family}{customer_id}"
        elif draw < 0.75:
            local = f"{family}{given}{customer_id}"
        else:
            local = f"{given[0]}{family}_{customer_id}"
        domain = self.domains[korean][int(rnd() * 1024)]
        # Some people type capitals; lookups must ignore case.
        return f"{local.capitalize()}@{domain.capitalize()}" if rnd() < 0.03 else f"{local}@{domain}"

    def korean_mobile(self) -> tuple[str, str]:
        """A 010 mobile number as typed (three usual forms) and in E.164."""
        rnd = self.rng.random
        middle, last = 2000 + int(rnd() * 8000), int(rnd() * 10000)
        draw = rnd()
        if draw < 0.6:
            typed = f"010-{middle}-{last:04d}"
        elif draw < 0.85:
            typed = f"010{middle}{last:04d}"
        else:
            typed = f"+82 10 {middle} {last:04d}"
        return typed, f"+8210{middle}{last:04d}"

    def korean_address(self, region: Region) -> tuple[str, str]:
        """A road-name address in the region (an apartment unit half of the time) and its postal code."""
        rnd = self.rng.random
        district = _pick(region.districts, rnd)
        parts = [
            region.full,
            district,
            _pick(CITY_ROADS.get(region.short, ROADS), rnd),
            str(1 + int(rnd() * 400)),
        ]
        address = " ".join(part for part in parts if part)
        if rnd() < 0.5:
            address += f", {101 + int(rnd() * 20)}동 {1 + int(rnd() * 25)}{1 + int(rnd() * 4):02d}호"
        prefix = region.postal_from + int(rnd() * (region.postal_to - region.postal_from + 1))
        return address, f"{prefix:02d}{int(rnd() * 1000):03d}"

    def birth_date(self) -> str:
        """A birth date for an adult, more often 25 to 50 than older."""
        age_days = int((18 + 62 * self.rng.random() ** 1.5) * 365.25)
        return dt.date.fromordinal(self.today - age_days).isoformat()

    def signup(self) -> int:
        """When the customer signed up: over the last five years, more of them recently (the shop grew)."""
        rnd = self.rng.random
        clock = self.clock
        moment = (
            clock.local_midnight
            - int(5 * 365 * rnd() ** 1.3) * 86400
            + self.activity_times[int(rnd() * len(self.activity_times))]
        )
        return moment if moment <= clock.now else moment - 86400

    def sources(self, chances: list[tuple[str, float]]) -> tuple[str, ...]:
        """The source systems that know this customer: one to four, the first being where they signed up."""
        rnd = self.rng.random
        chosen = [code for code, chance in chances if rnd() < chance]
        if not chosen:
            chosen = [chances[0][0]]
        if len(chosen) > 4:
            chosen = chosen[:4]
        first = int(rnd() * len(chosen))
        return (chosen[first], *chosen[:first], *chosen[first + 1 :])


def _pick(options: Sequence[T], rnd: Callable[[], float]) -> T:
    """A uniform pick, cheaper than ``random.choice``."""
    return options[int(rnd() * len(options))]
