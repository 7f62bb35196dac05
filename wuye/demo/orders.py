"""Work orders for the demo estate, so the desk queue, the overdue board, the return-visit list and the owners'
order pages have something to show on the first run. Every order goes through the real services (numbers, SLA
clocks, events, notifications), walked to its status by the people who would act."""

import datetime as dt
import random

from django.db import transaction

from wuye.accounts.models import User
from wuye.core import clock
from wuye.estates.models import Company, Estate, PublicArea, Room
from wuye.workorders import services
from wuye.workorders.choices import Action, Channel, Kind, Priority
from wuye.workorders.models import Category, WorkOrder

SEED = 20261127
# (kind, category, description, priority, path of actions)
STORIES = [
    (Kind.REPAIR_HOME, "plumbing", "厨房水槽下水管漏水，地面有积水", Priority.URGENT, ["accept"]),
    (Kind.REPAIR_HOME, "electrical", "卫生间浴霸不亮，开关跳闸", Priority.NORMAL, ["accept", "dispatch"]),
    (Kind.REPAIR_HOME, "doors_locks", "入户门锁芯卡住，钥匙转不动", Priority.URGENT, ["accept", "dispatch", "take"]),
    (
        Kind.REPAIR_PUBLIC,
        "doors_locks",
        "单元门闭门器损坏，门关不上",
        Priority.URGENT,
        ["accept", "dispatch", "take", "arrive"],
    ),
    (
        Kind.REPAIR_PUBLIC,
        "public_lighting",
        "地下车库B区照明灯不亮",
        Priority.NORMAL,
        ["accept", "dispatch", "take", "arrive", "start"],
    ),
    (
        Kind.REPAIR_HOME,
        "walls",
        "次卧天花板渗水发霉",
        Priority.NORMAL,
        ["accept", "dispatch", "take", "arrive", "start", "hold"],
    ),
    (
        Kind.REPAIR_HOME,
        "plumbing",
        "马桶水箱一直流水",
        Priority.NORMAL,
        ["accept", "dispatch", "take", "arrive", "start", "resolve"],
    ),
    (
        Kind.REPAIR_HOME,
        "access",
        "楼宇对讲无法开门",
        Priority.NORMAL,
        ["accept", "dispatch", "take", "arrive", "start", "resolve", "rate"],
    ),
    (
        Kind.REPAIR_PUBLIC,
        "plumbing",
        "小区南门消防栓漏水",
        Priority.EMERGENCY,
        ["accept", "dispatch", "take", "arrive", "start", "resolve", "rate", "visit", "close"],
    ),
    # Waiting in the grab pool (抢单池): greening work is dispatched by grab.
    (Kind.REPAIR_PUBLIC, "greening", "3号楼前绿化带喷灌水管破裂，一直在冒水", Priority.NORMAL, ["accept"]),
    (Kind.COMPLAINT, "noise", "楼上晚上十一点后装修噪音", Priority.NORMAL, ["accept", "dispatch", "take"]),
    (Kind.COMPLAINT, "parking", "地库消防通道长期被占用", Priority.NORMAL, []),
    (Kind.INQUIRY, "fees", "物业费可以按年缴纳吗？有没有优惠", Priority.NORMAL, ["accept", "answer"]),
    (Kind.SUGGESTION, "greening", "建议在儿童乐园旁增加遮阳设施", Priority.LOW, []),
    (Kind.PRAISE, "service", "维修师傅上门很及时，服务态度好", Priority.LOW, ["accept", "answer", "close"]),
]


# One owner is unhappy, so the grid leader has a follow-up (跟进) to show in the demo.
LOW_RATINGS = {"access": {"verdict": "bad", "score": 2, "comment": "修了以后还是经常打不开门，等了一整天"}}


def _actor(action: str, staff: dict[str, User], owner: User) -> User:
    if action in ("rate", "reopen", "urge"):
        return owner
    if action in ("take", "arrive", "start", "hold", "resume", "resolve"):
        return staff["tech"]
    if action in ("dispatch", "close"):
        return staff["supervisor"]
    return staff["service"]


def _params(action: str, staff: dict[str, User]) -> dict:
    return {
        "dispatch": {"assignee_id": staff["tech"].id},
        "hold": {"reason": "等配件：防水涂料"},
        "resolve": {
            "resolution": "已处理完毕，现场试用正常",
            "materials": [{"name": "配件", "quantity": 1, "unit": "个"}],
        },
        "answer": {"resolution": "感谢您的来信，我们已记录并会跟进。"},
        "rate": {"verdict": "good", "score": 5, "comment": "满意"},
        "visit": {"satisfied": True, "note": "业主表示满意"},
    }.get(action, {})


@transaction.atomic
def seed_demo_orders(*, company: Company, estate: Estate) -> int:
    """About fifteen orders in every state, spread over the last two days, for the first estate's demo accounts."""
    # The stories are the orders nobody else raised (rectifications and patrol incidents carry their source).
    if WorkOrder.objects.filter(estate=estate, source_type="").exists():
        return 0
    rng = random.Random(SEED)
    staff = {u.username: u for u in User.objects.filter(username__in=["service", "tech", "supervisor"])}
    owners = list(User.objects.filter(username__in=["owner", "owner2"]).order_by("username"))
    areas = list(PublicArea.objects.filter(estate=estate).order_by("id"))
    categories = {c.code: c for c in Category.objects.filter(company=company)}
    now = clock.now()
    created = 0
    for index, (kind, code, text, priority, path) in enumerate(STORIES):
        owner = owners[index % len(owners)]
        room = Room.objects.filter(residencies__user=owner, estate=estate).first()
        # Long enough ago that the longest path (9 steps of at most 90 minutes) has happened by now.
        started = now - dt.timedelta(hours=rng.randint(16, 46), minutes=rng.randint(0, 59))
        new = services.NewOrder(
            estate=estate,
            kind=kind,
            category=categories[code],
            description=text,
            priority=priority,
            channel=Channel.PORTAL if index % 3 else Channel.PHONE,
            reporter=owner,
            room=room if kind != Kind.REPAIR_PUBLIC else None,
            public_area=rng.choice(areas) if kind == Kind.REPAIR_PUBLIC and areas else None,
        )
        order, _ = services.workorder_create(
            actor=owner if new.channel == Channel.PORTAL else staff["service"], new=new, now=started
        )
        moment = started
        for action in path:
            moment += dt.timedelta(minutes=rng.randint(5, 90))
            if moment >= now:
                break
            params = LOW_RATINGS.get(code, {}) if action == "rate" else {}
            services.workorder_act(
                actor=_actor(action, staff, owner),
                order_id=order.id,
                action=Action(action),
                params=params or _params(action, staff),
                now=moment,
            )
        created += 1
    return created
