"""Demo activity: each customer's rows: the customer, identities, contracts, consents with their
history, and interactions of every kind with the product lines of purchases and returns.

Kinds follow what a customer is known to: store purchases need a POS identity, claims an insurance
policy, pushes the app, emails an address. Times spread over the last three years (or since signup),
denser recently and at the hours people shop in Korea. This is the hot path of seeding twenty million
interactions: pools are drawn once, picks are ``pool[int(random() * len)]``, timestamps come from
``Clock``'s string tables, and a row is a plain tuple.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm.demo import Catalog, Clock
from customers.demo.kinds import (
    APP,
    CLAIM,
    CONSENT_CHANGE_SOURCES,
    CONTRACT_STATUSES,
    EMAIL,
    EMAIL_MARKETING,
    EMAIL_PROFILING,
    FLAG_OF_SOURCE,
    HISTORY_DAYS,
    HOUR_WEIGHTS,
    IDENTITY_PREFIX,
    INTERACTION_PREFIX,
    MEMBERSHIP,
    NPS_WEIGHTS,
    PHONE,
    PHONE_MARKETING,
    PHONE_THIRD_PARTY,
    POLICIES,
    POLICY,
    POOL_SIZE,
    POS,
    POST_MARKETING,
    PREMIUM,
    PRODUCT,
    PURCHASE,
    PUSH_MARKETING,
    PUSH_PROFILING,
    RETURN,
    SIGNUP_SOURCE,
    SURVEY,
    TEMPLATES,
    Template,
)
from customers.demo.people import Person


@dataclass
class Chunk:
    """The rows of a run of customers, one list per table, in each table's column order."""

    customers: list[tuple[Any, ...]] = field(default_factory=list)
    identities: list[tuple[Any, ...]] = field(default_factory=list)
    contracts: list[tuple[Any, ...]] = field(default_factory=list)
    interactions: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    consents: list[tuple[Any, ...]] = field(default_factory=list)
    consent_changes: list[tuple[Any, ...]] = field(default_factory=list)


class Activity:
    """Writes each customer's rows into a ``Chunk``; assigns interaction ids itself, from ``next_id``.

    Draws come from the seeded ``rng`` only, and no database is touched: this runs in a worker thread.
    """

    def __init__(
        self,
        *,
        rng: random.Random,
        clock: Clock,
        catalog: Catalog,
        source_ids: dict[str, int],
        trusted: dict[str, tuple[bool, bool]],
        first_interaction_id: int,
        interactions_per_customer: int,
        minor_units_per_won: dict[str, float],
        recorded_by: int | None,
    ) -> None:
        self.rng = rng
        self.clock = clock
        self.catalog = catalog
        self.source_ids = source_ids
        self.trusted = trusted
        self.next_id = first_interaction_id
        self.mean = interactions_per_customer
        self.minor_units_per_won = minor_units_per_won
        self.recorded_by = recorded_by
        self.times_of_day = [
            hour * 3600 + int(rng.random() * 3600)
            for hour in rng.choices(range(24), weights=HOUR_WEIGHTS, k=1 << 14)
        ]
        self.nps = rng.choices(range(11), weights=NPS_WEIGHTS, k=1024)
        self.statuses = rng.choices(
            [s for s, _ in CONTRACT_STATUSES], weights=[w for _, w in CONTRACT_STATUSES], k=1024
        )
        self.policies = rng.choices(POLICIES, weights=[policy[-1] for policy in POLICIES], k=1024)
        self.pools: dict[int, list[tuple[Any, ...]]] = {}
        self.variants = {template: template.compiled_variants() for template in TEMPLATES}
        self.now_text = clock.text(clock.now)
        # Today as a UTC day boundary (local noon, floored), from which contract dates are counted in days.
        self.today = (clock.local_midnight + 43200) // 86400 * 86400
        self.online_props = json.dumps({"device": "mobile"}), json.dumps({"device": "desktop"})
        self.store_props = {
            store_id: json.dumps({"store": name}, ensure_ascii=False)
            for store_id, name in catalog.store_names.items()
        }

    # --- Kinds of interaction a customer gets ---------------------------------------------------------

    def pool(self, flags: int, language: int) -> list[tuple[Any, ...]]:
        """Interactions applicable to a customer with these flags, in their language, repeated by weight
        with their variant already drawn: one uniform pick gives the whole template of a row."""
        key = flags * 2 + language
        if key not in self.pools:
            applicable = [
                t
                for t in TEMPLATES
                if t.needs & flags == t.needs and (not t.needs_any or t.needs_any & flags)
            ]
            picks = self.rng.choices(applicable, weights=[t.weight for t in applicable], k=POOL_SIZE)
            rnd = self.rng.random
            entries = {
                t: [self.entry(t, language, variant) for variant in range(len(self.variants[t]))]
                for t in applicable
            }
            self.pools[key] = [entries[t][int(rnd() * len(entries[t]))] for t in picks]
        return self.pools[key]

    def entry(self, template: Template, language: int, variant: int) -> tuple[Any, ...]:
        """What the hot loop unpacks: kind, channel, source id, external id prefix, effect, summary and
        properties (JSON text)."""
        english, korean, properties = self.variants[template][variant]
        return (
            template.kind,
            template.channel,
            self.source_ids[template.source],
            INTERACTION_PREFIX[template.source],
            template.effect,
            korean if language else english,
            properties,
        )

    # --- One customer ---------------------------------------------------------------------------------

    def add_customer(self, person: Person, chunk: Chunk, *, every_kind: bool = False) -> None:
        """Append all rows of one customer; ``every_kind`` gives them at least one interaction of each kind."""
        signup = self.clock.text(person.signup_at)
        chunk.customers.append(
            (
                person.id,
                signup,
                self.now_text,
                person.name,
                person.email,
                person.phone,
                person.phone_normalized,
                person.birth_date,
                person.gender,
                person.address,
                person.postal_code,
                person.region,
                person.preferred_language,
                signup,
                "active",
                None,
            )
        )
        flags = (EMAIL if person.email else 0) | (PHONE if person.phone else 0)
        for position, code in enumerate(person.sources):
            flags |= FLAG_OF_SOURCE.get(code, 0)
            chunk.identities.append(
                (
                    person.id,
                    self.source_ids[code],
                    f"{IDENTITY_PREFIX[code]}{person.id:08d}",
                    self.matched_by(person, code, position),
                    signup,
                )
            )
        policies = self.add_contracts(person, flags, chunk)
        self.add_consents(person, flags, chunk)

        count = round(self.rng.gammavariate(2.0, self.mean / 2)) if self.mean else 0
        forced: list[tuple[Any, ...]] = []
        if every_kind and self.mean:
            # The first template of each kind, in TEMPLATES order: a purchase comes before the return.
            kinds: set[str] = set()
            for template in TEMPLATES:
                if template.kind not in kinds:
                    kinds.add(template.kind)
                    forced.append(self.entry(template, int(person.korean), 0))
            count = max(count, 2 * len(forced))
        self.add_interactions(person, flags, policies, count, forced, chunk)

    def matched_by(self, person: Person, code: str, position: int) -> str:
        """How identity resolution would have linked this identity: the first made the customer; later
        ones matched on what their source trusts, else came with a data migration."""
        trust_email, trust_phone = self.trusted[code]
        if position == 0:
            return "new"
        if trust_email and person.email:
            return "email"
        if trust_phone and person.phone:
            return "phone"
        return "import"

    def add_contracts(self, person: Person, flags: int, chunk: Chunk) -> list[tuple[str, int]]:
        """Insurance policies for customers of the policy system, memberships for some store customers;
        returns the policies' numbers and monthly premiums, for payments and claims."""
        rnd = self.rng.random
        products: list[tuple[Any, ...]] = []
        if flags & POLICY:
            draw = rnd()
            products = [
                self.policies[int(rnd() * 1024)] for _ in range(1 if draw < 0.6 else 2 if draw < 0.9 else 3)
            ]
        if flags & POS and rnd() < 0.08:
            products.append(MEMBERSHIP)
        policies = []
        today, now = self.today, self.clock.now
        for number, product in enumerate(products, start=1):
            kind, names, term = product[0], product[1], product[2]
            status = self.statuses[int(rnd() * 1024)]
            if kind == "membership" and status == "quote":
                status = "active"
            days = term or 0
            if status == "quote":
                start = today + (1 + int(rnd() * 30)) * 86400
                end = start + days * 86400 if term else None
            elif status in ("active", "suspended"):
                start = today - int(rnd() * (days if term and term < 3650 else 2000)) * 86400
                end = start + days * 86400 if term else None
            elif status == "expired" and term:
                end = today - (1 + int(rnd() * 700)) * 86400
                start = end - days * 86400
            else:  # cancelled or lapsed (or an expired life policy, which ends only when cancelled)
                status = "cancelled" if status == "expired" else status
                start = today - (30 + int(rnd() * 1800)) * 86400
                end = start + int(rnd() * (today - start) // 86400) * 86400
            start_date, end_date = clock_date(start), clock_date(end) if end is not None else None
            number_text = f"{kind[:2].upper()}{start_date[:4]}-{person.id:08d}-{number}"
            if kind == "membership":
                source, premium, currency = "pos", None, ""
            else:
                low, high = product[3], product[4]
                premium_won = (low + int(rnd() * (high - low + 1))) * 1000
                source, premium, currency = "policy", f"{premium_won}.00", "KRW"
                policies.append((number_text, premium_won))
            # Recorded when the contract began (or was quoted), and not before the customer existed.
            created = self.clock.text(min(max(person.signup_at, start + 9 * 3600), now))
            chunk.contracts.append(
                (
                    created,
                    self.now_text,
                    person.id,
                    self.source_ids[source],
                    number_text,
                    kind,
                    names[0] if person.korean else names[1],
                    status,
                    start_date,
                    end_date,
                    premium,
                    currency,
                    json.dumps({"payment_cycle": "monthly"} if premium else {}),
                )
            )
        return policies

    def add_consents(self, person: Person, flags: int, chunk: Chunk) -> None:
        """Consents per channel and purpose, each with the history of changes that led to it: given at
        signup, and for some customers withdrawn (and perhaps given again) later."""
        rnd = self.rng.random
        wanted = []
        if flags & EMAIL:
            wanted.append(EMAIL_MARKETING)
            if rnd() < 0.3:
                wanted.append(EMAIL_PROFILING)
        if flags & PHONE:
            wanted += PHONE_MARKETING
            if flags & POLICY and rnd() < 0.5:
                wanted.append(PHONE_THIRD_PARTY)
        if flags & APP:
            wanted.append(PUSH_MARKETING)
            if rnd() < 0.4:
                wanted.append(PUSH_PROFILING)
        if person.address and rnd() < 0.3:
            wanted.append(POST_MARKETING)
        clock = self.clock
        now, start, days, times = clock.now, clock.start, clock.days, clock.times
        customer_id, signup_source = person.id, SIGNUP_SOURCE[person.sources[0]]
        changes, consents = chunk.consent_changes.append, chunk.consents.append
        for channel, purpose, chance in wanted:
            moment = min(person.signup_at + int(rnd() * 300), now)
            granted = rnd() < chance
            source = signup_source
            at = days[(moment - start) // 86400] + times[(moment - start) % 86400]
            changes((customer_id, channel, purpose, granted, source, at, None, at))
            while rnd() < 0.25 and moment < now:
                moment += 1 + int(rnd() * (now - moment))
                granted = not granted
                if channel == "email" and not granted:
                    source = "unsubscribe link"
                elif channel == "push":
                    source = "app settings"
                else:
                    source = CONSENT_CHANGE_SOURCES[int(rnd() * len(CONSENT_CHANGE_SOURCES))]
                at = days[(moment - start) // 86400] + times[(moment - start) % 86400]
                changes(
                    (
                        customer_id,
                        channel,
                        purpose,
                        granted,
                        source,
                        at,
                        self.recorded_by if source == "call centre" else None,
                        at,
                    )
                )
            consents((customer_id, channel, purpose, granted, source, at))

    def add_interactions(
        self,
        person: Person,
        flags: int,
        policies: list[tuple[str, int]],
        count: int,
        forced: list[tuple[Any, ...]],
        chunk: Chunk,
    ) -> None:
        """``count`` interactions over the customer's history, oldest first, with purchase lines.

        The hottest loop of seeding: twenty million turns for the benchmark size. Plain interactions
        (visits, messages, calls: most of them) take the short branch.
        """
        rnd = self.rng.random
        clock = self.clock
        days, times = clock.days, clock.times
        # Times are offsets from clock.start, the origin of the day and time string tables.
        today, latest, earliest = (
            clock.local_midnight - clock.start,
            clock.now - clock.start,
            person.signup_at - clock.start,
        )
        span = max(1, min(HISTORY_DAYS, (latest - earliest) // 86400))
        times_of_day = self.times_of_day
        # Denser recently: a power of a uniform draw leans towards zero days ago.
        moments = sorted(
            [
                today - int(span * rnd() ** 1.6) * 86400 + times_of_day[int(rnd() * 16384)]
                for _ in range(count)
            ]
        )
        if moments and (moments[0] < earliest or moments[-1] > latest):
            # Rare: a time later today than now, or earlier on the signup day than the signup.
            moments = sorted(
                moment - 86400
                if moment > latest
                else earliest + int(rnd() * (latest - earliest + 1))
                if moment < earliest
                else moment
                for moment in moments
            )
        language = int(person.korean)
        pool = self.pool(flags, language)
        entries = forced[:count] + [pool[int(rnd() * POOL_SIZE)] for _ in range(count - len(forced))]

        catalog = self.catalog
        popular, names, product_ids = catalog.popular, catalog.product_names, catalog.product_ids
        append, customer_id = chunk.interactions.append, person.id
        last_purchase: tuple[Any, ...] | None = None
        interaction_id = self.next_id
        for moment, (kind, channel, source_id, prefix, effect, summary, extra) in zip(
            moments, entries, strict=True
        ):
            at = days[moment // 86400] + times[moment % 86400]
            if not effect:  # PLAIN
                append(
                    (
                        interaction_id,
                        customer_id,
                        source_id,
                        prefix + str(interaction_id),
                        kind,
                        channel,
                        at,
                        None,
                        "",
                        summary,
                        None,
                        extra,
                        at,
                    )
                )
                interaction_id += 1
                continue
            amount = None
            currency = ""
            nps = None
            if effect == PRODUCT:
                product = popular[int(rnd() * 65536)]
                summary = summary.format(names[product])
                extra = f'{{"product_id": {product_ids[product]}}}'
            elif effect == PURCHASE or (effect == RETURN and last_purchase is None):
                if effect == RETURN:  # nothing bought yet: this customer buys instead
                    kind, channel, source_id, prefix = self.first_purchase_template(flags)
                last_purchase, amount, currency, summary, extra = self.purchase(
                    person, interaction_id, channel, source_id, prefix, at, language, chunk
                )
            elif effect == RETURN:
                assert last_purchase is not None
                source_id, prefix, channel, location, currency, items, extra = last_purchase
                product, unit, unit_cost = items[int(rnd() * len(items))]
                chunk.lines.append(
                    (
                        interaction_id,
                        product_ids[product],
                        catalog.product_supplier_ids[product],
                        location,
                        at,
                        channel,
                        True,
                        1,
                        unit,
                        unit_cost,
                        currency,
                    )
                )
                amount = unit
                summary = ("반품: " if language else "Return: ") + names[product]
                last_purchase = None  # one return per purchase
            elif effect == SURVEY:
                nps = self.nps[int(rnd() * 1024)]
                summary = f"{summary} (NPS {nps})"
            else:  # PREMIUM, CLAIM, POLICY_EVENT: about one of the customer's policies
                number, premium = policies[int(rnd() * len(policies))]
                extra = f'{{"policy": "{number}"' + (", " + extra[1:] if extra != "{}" else "}")
                if effect == PREMIUM:
                    amount, currency = f"{premium}.00", "KRW"
                elif effect == CLAIM:
                    amount, currency = f"{int(10 ** (4.7 + rnd() * 1.8)) // 1000 * 1000}.00", "KRW"
            append(
                (
                    interaction_id,
                    customer_id,
                    source_id,
                    prefix + str(interaction_id),
                    kind,
                    channel,
                    at,
                    amount,
                    currency,
                    summary,
                    nps,
                    extra,
                    at,
                )
            )
            interaction_id += 1
        self.next_id = interaction_id

    def first_purchase_template(self, flags: int) -> tuple[str, str, int, str]:
        """Kind, channel, source and prefix of the purchase of a customer who has bought nothing yet:
        in a store if they can, else online."""
        code = "pos" if flags & POS else "ecommerce"
        return "purchase", "store" if flags & POS else "web", self.source_ids[code], INTERACTION_PREFIX[code]

    def purchase(
        self,
        person: Person,
        interaction_id: int,
        channel: str,
        source_id: int,
        prefix: str,
        at: str,
        language: int,
        chunk: Chunk,
    ) -> tuple[tuple[Any, ...], str, str, str, str]:
        """The lines of one purchase; returns what a later return needs, the amount, currency, summary
        and properties. Stores charge won; the online shop charges the customer's currency."""
        rnd = self.rng.random
        catalog = self.catalog
        if channel == "store":
            home = catalog.store_ids_by_region.get(person.region) or catalog.store_ids
            location = _pick(home if rnd() < 0.85 else catalog.store_ids, rnd)
            currency = "KRW"
            extra = self.store_props[location]
        else:
            location = catalog.online_shop_id
            currency = person.currency
            extra = self.online_props[0 if channel == "app" or rnd() < 0.5 else 1]
        rate = self.minor_units_per_won[currency]
        draw = rnd()
        items = []
        total = 0
        for _ in range(1 if draw < 0.65 else 2 if draw < 0.9 else 3):
            product = catalog.popular[int(rnd() * 65536)]
            price = catalog.product_prices[product]
            if rnd() < 0.2:  # a sale: 10 to 30% off, rounded to 100 won
                price = price * (90 - int(rnd() * 3) * 10) // 10000 * 100
            draw = rnd()
            quantity = 1 if draw < 0.8 else 2 if draw < 0.95 else 3
            unit = round(price * rate)
            unit_cost = round(catalog.product_costs[product] * rate)
            unit_text, cost_text = money_text(unit, currency), money_text(unit_cost, currency)
            chunk.lines.append(
                (
                    interaction_id,
                    catalog.product_ids[product],
                    catalog.product_supplier_ids[product],
                    location,
                    at,
                    channel,
                    False,
                    quantity,
                    unit_text,
                    cost_text,
                    currency,
                )
            )
            items.append((product, unit_text, cost_text))
            total += quantity * unit
        first = catalog.product_names[items[0][0]]
        if len(items) == 1:
            summary = first
        elif language == 1:
            summary = f"{first} 외 {len(items) - 1}건"
        else:
            summary = f"{first} and {len(items) - 1} more"
        last_purchase = (source_id, prefix, channel, location, currency, items, extra)
        return last_purchase, money_text(total, currency), currency, summary, extra


def money_text(minor_units: int, currency: str) -> str:
    """An amount in a currency's minor units as decimal text: cents for USD, whole won and yen."""
    if currency in ("KRW", "JPY"):
        return f"{minor_units}.00"
    return f"{minor_units // 100}.{minor_units % 100:02d}"


def clock_date(epoch: int) -> str:
    """The ISO date of a day boundary in epoch seconds."""
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).date().isoformat()


def _pick(options: Sequence[Any], rnd: Any) -> Any:
    return options[int(rnd() * len(options))]
