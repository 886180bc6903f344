"""The filing form every test starts from, a valid professional training of 长沙市中心医院, and the
rules of 2021 the tests count hours against."""

from __future__ import annotations

from ledger.model import Hours, YearRules

Form = dict[str, object]
RULES_2021 = YearRules(
    year=2021, total=Hours(9000), public=Hours(3000), professional=Hours(6000), hours_per_day=Hours(750)
)


def filing_form(**changes: object) -> Form:
    """A valid filing form, with the fields given replaced (``...`` removes a field)."""
    form: Form = {
        "unit_code": "430100-0001",
        "subject": "professional",
        "organiser": "长沙市医学继续教育培训中心",
        "organiser_address": "长沙市芙蓉区韶山北路 61 号",
        "postcode": "410011",
        "email": "peixun@example.cn",
        "responsible_person": "刘建国",
        "contact_name": "陈静",
        "contact_title": "科员",
        "contact_phone": "13907310001",
        "training_name": "急危重症救治能力提升培训",
        "starts_on": "2021-09-06",
        "ends_on": "2021-09-08",
        "place": "长沙市中心医院学术报告厅",
        "scope": "全院临床医师",
        "head_count": 30,
        "plan": "第一天：理论授课；第二天：模拟演练；第三天：考核。",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not ...}
