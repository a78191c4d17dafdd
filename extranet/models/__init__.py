"""The supplier portal's data, one module per feature: memberships and stock, sales rollups, proposed
orders, and the audit and login records of its security."""

from extranet.models.base import InventoryLevel, SupplierMembership, SupplierStock
from extranet.models.messaging import Message, MessageThread, ThreadReadState
from extranet.models.orders import (
    ProposedOrder,
    ProposedOrderEvent,
    ProposedOrderLine,
    SupplierBuyerPermission,
)
from extranet.models.sales import (
    ProductSalesDay,
    ProductSalesMonth,
    SalesRollupState,
    SupplierSalesDay,
    SupplierSalesMonth,
    SupplierSalesWeek,
)
from extranet.models.security import AuditEvent
from extranet.models.team import Invitation

__all__ = [
    "AuditEvent",
    "InventoryLevel",
    "Invitation",
    "Message",
    "MessageThread",
    "ProductSalesDay",
    "ProductSalesMonth",
    "ProposedOrder",
    "ProposedOrderEvent",
    "ProposedOrderLine",
    "SalesRollupState",
    "SupplierBuyerPermission",
    "SupplierMembership",
    "SupplierSalesDay",
    "SupplierSalesMonth",
    "SupplierSalesWeek",
    "SupplierStock",
    "ThreadReadState",
]
