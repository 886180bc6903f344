"""The demo's people and courses: staff of several institutions, the vendors each of them studies
at, and what each vendor offers. Everything is drawn from a seeded random source, so that every run
tells the same story.

The people are made up: their ID numbers are synthetic (``sso.id_numbers.make_id_number``) and
their phones and e-mails lead nowhere.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

from ledger.model import BEIJING, Balance, Source, YearRules, course_key, evaluate, parse_hours
from sso.id_numbers import IdNumber, make_id_number

__all__ = [
    "CATALOGUE",
    "HOSPITAL",
    "INSTITUTIONS",
    "PASSWORD",
    "Course",
    "Institution",
    "StaffMember",
    "Strays",
    "Study",
    "cast",
    "meets",
    "strays",
    "studies",
]

PASSWORD: Final = "hours2021demo"  # noqa: S105  (every invented person's, printed for logging in)
SEED: Final = 2021
YEAR: Final = 2021


@dataclass(frozen=True, slots=True)
class Institution:
    code: str
    name: str
    major: str
    title: str
    school: str


INSTITUTIONS: Final = (
    Institution("430000-0001", "湖南省人民医院", "临床医学", "主治医师", "中南大学"),
    Institution("430000-0002", "湖南师范大学", "教育学", "讲师", "湖南师范大学"),
    Institution("430100-0001", "长沙市中心医院", "医学影像学", "主管技师", "中南大学"),
    Institution("430100-0002", "长沙市第一中学", "汉语言文学", "一级教师", "湖南师范大学"),
    Institution("430181-0003", "浏阳市农业技术推广中心", "农学", "农艺师", "湖南农业大学"),
    Institution("430200-0001", "株洲市中心医院", "护理学", "主管护师", "南华大学"),
    Institution("430300-0001", "湘潭市中心医院", "药学", "主管药师", "湘潭大学"),
    Institution("430400-0002", "衡阳市第八中学", "物理学", "一级教师", "衡阳师范学院"),
    Institution("430600-0002", "岳阳市第一中学", "数学与应用数学", "高级教师", "湖南理工学院"),
    Institution("433100-0001", "湘西土家族苗族自治州人民医院", "临床医学", "副主任医师", "吉首大学"),
)
"""Ten institutions of six cities and prefectures, under the health, education and agriculture departments."""
HOSPITAL: Final = INSTITUTIONS[0]
"""湖南省人民医院: it files an offline training, which its staff attend."""
SURNAMES: Final = (
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭",
    "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹", "袁", "邓", "许", "傅",
    "沈", "曾", "彭", "吕", "欧阳",
)  # fmt: skip
GIVEN_NAMES: Final = (
    ("芳", "女"), ("强", "男"), ("伟", "男"), ("洋", "男"), ("静", "女"), ("帆", "男"), ("敏", "女"), ("磊", "男"),
    ("婷", "女"), ("昊", "男"), ("丽", "女"), ("涛", "男"), ("军", "男"), ("琳", "女"), ("翔", "男"), ("晓燕", "女"),
    ("娟", "女"), ("勇", "男"), ("超", "男"), ("佳", "女"), ("爽", "女"), ("健", "男"), ("雪", "女"), ("飞", "男"),
    ("梅", "女"), ("亮", "男"), ("瑶", "女"), ("浩", "男"), ("然", "男"), ("娜娜", "女"), ("志刚", "男"),
    ("红霞", "女"),
)  # fmt: skip
VENDOR_CHOICES: Final = (
    ("ischinese", "webtrn", "hnou"),
    ("ischinese", "hnou"),
    ("webtrn", "hnou"),
    ("ischinese", "webtrn"),
    ("ischinese", "webtrn", "hnou"),
    ("webtrn", "hnou"),
    ("ischinese", "hnou"),
    ("hnou",),
    ("ischinese", "webtrn"),
    ("webtrn", "hnou"),
    ("ischinese",),
    ("ischinese", "webtrn", "hnou"),
    (),
)
"""The vendors of each person in turn; hnou alone offers nothing on Xi Jinping Thought, and a few
people study at none (they count on their unit's trainings)."""
EFFORT_HOURS: Final = (50, 80, 95, 100, 110, 130)
"""How many hours a person sets out to study in the year; the courses taken reach at least that."""
REQUIRED_HOURS: Final = {"public": Decimal(30), "professional": Decimal(60)}
LOST_DECIDING: Final = 2
LOST_OTHERS: Final = 1
"""ischinese's webhooks lost on the way: some decide their person's year, some do not."""
SEQUENCE_NUMBERS_MAX: Final = 499
"""An ID number's sequence code is 0–999, two for each person (odd for a man, even for a woman)."""


@dataclass(frozen=True, slots=True)
class StaffMember:
    name: str
    id_number: IdNumber
    gender: str
    phone: str
    email: str
    institution: Institution
    vendors: tuple[str, ...]
    effort_hours: int
    continuing_education: bool
    """Whether the operators import recognised continuing education of this person."""

    @property
    def attends_offline(self) -> bool:
        """Whether the person attends the offline training the hospital files."""
        return self.institution == HOSPITAL

    def registration(self) -> dict[str, object]:
        """The registration form of ``POST /api/v1/register``."""
        return {
            "name": self.name,
            "password": PASSWORD,
            "id_number": self.id_number,
            "gender": self.gender,
            "ethnicity": "汉族",
            "phone": self.phone,
            "email": self.email,
            "native_place": "湖南",
            "education": "大学本科",
            "major": self.institution.major,
            "school": self.institution.school,
            "graduated_on": "2010-06-30",
            "unit_code": self.institution.code,
            "title": self.institution.title,
        }


@dataclass(frozen=True, slots=True)
class Course:
    vendor: str
    code: str
    title: str
    subject: str
    hours: str


CATALOGUE: Final = (
    Course("ischinese", "XJP-2021-01", "习近平新时代中国特色社会主义思想概论", "public", "12"),
    Course("ischinese", "DS-2021-02", "中国共产党历史", "public", "10.5"),
    Course("ischinese", "FZ-2021-03", "民法典与依法行政", "public", "8"),
    Course("ischinese", "ZY-2021-11", "专业技术人员创新能力提升", "professional", "15"),
    Course("ischinese", "ZY-2021-12", "数字化转型与专业实践", "professional", "20.5"),
    Course("ischinese", "ZY-2021-13", "突发事件应急管理", "professional", "18"),
    Course("webtrn", "C1001", "新时代思想学习", "public", "8"),
    Course("webtrn", "C2001", "事业单位人事管理政策解读", "public", "6"),
    Course("webtrn", "C3010", "职业道德与职业素养", "professional", "12.5"),
    Course("webtrn", "C3020", "专业前沿讲座", "professional", "24"),
    Course("webtrn", "C3030", "科研方法与论文写作", "professional", "18.5"),
    Course("hnou", "HN-2021-DS01", "党史学习教育", "public", "10"),
    Course("hnou", "HN-2021-RS01", "人事政策与法规", "public", "6"),
    Course("hnou", "HN-2021-GG03", "法治政府建设", "public", "12"),
    Course("hnou", "HN-2021-ZY07", "行业前沿与案例研究", "professional", "30"),
    Course("hnou", "HN-2021-ZY11", "专业能力提升研修", "professional", "24"),
    Course("hnou", "HN-2021-ZY15", "信息技术与专业融合", "professional", "16"),
)
MANDATORY: Final = {
    "xi_thought": ("ischinese:XJP-2021-01", "webtrn:C1001"),
    "party_history": ("ischinese:DS-2021-02", "hnou:HN-2021-DS01"),
    "personnel_policy": ("webtrn:C2001", "hnou:HN-2021-RS01"),
}
"""The mandatory topics of 2021 in the demo's rules, each with the courses that satisfy it."""


@dataclass(frozen=True, slots=True)
class Study:
    """One course a person completed at a vendor, in Beijing time."""

    member: StaffMember
    course: Course
    completed_at: datetime


def cast(count: int) -> list[StaffMember]:
    """``count`` staff members with names of their own, spread over the institutions; every other one
    has recognised continuing education. Raises ``ValueError`` beyond ``SEQUENCE_NUMBERS_MAX``."""
    if not 0 < count <= SEQUENCE_NUMBERS_MAX:
        raise ValueError(f"the demo casts 1 to {SEQUENCE_NUMBERS_MAX} people")
    chooser = random.Random(SEED)  # noqa: S311  (a story told the same way each run; nothing secret)
    names = [(surname + given, gender) for given, gender in GIVEN_NAMES for surname in SURNAMES]
    chooser.shuffle(names)
    members = []
    for number, (name, gender) in enumerate(names[:count], start=1):
        institution = INSTITUTIONS[number % len(INSTITUTIONS)]
        sequence = 2 * number + (1 if gender == "男" else 0)  # GB 11643: odd for a man, even for a woman
        birth = date(1970 + chooser.randrange(25), 1 + chooser.randrange(12), 1 + chooser.randrange(28))
        members.append(
            StaffMember(
                name=name,
                id_number=make_id_number(institution.code[:6], birth, sequence),
                gender=gender,
                phone=f"139{number:08d}",
                email=f"staff{number:03d}@demo.example.cn",
                institution=institution,
                vendors=VENDOR_CHOICES[number % len(VENDOR_CHOICES)],
                effort_hours=chooser.choice(EFFORT_HOURS),
                continuing_education=number % 2 == 1,
            )
        )
    return members


def studies(members: list[StaffMember]) -> list[Study]:
    """What each person completed in 2021: the mandatory courses their vendors offer first, as their
    units ask, then others in a random order, until their effort is spent."""
    chooser = random.Random(SEED + 1)  # noqa: S311  (as above)
    done = [
        Study(member, course, _moment_in(chooser)) for member in members for course in _courses_taken(member, chooser)
    ]
    return sorted(done, key=lambda study: study.completed_at)


def _courses_taken(member: StaffMember, chooser: random.Random) -> list[Course]:
    """A course of each mandatory topic on offer, then one of the subject still most wanted, until
    the effort is spent."""
    offered = [course for course in CATALOGUE if course.vendor in member.vendors]
    chooser.shuffle(offered)
    taken: list[Course] = []
    for courses in MANDATORY.values():
        taken += [course for course in offered if f"{course.vendor}:{course.code}" in courses][:1]
    left = [course for course in offered if course not in taken]
    while left and sum(Decimal(course.hours) for course in taken) < member.effort_hours:
        wanted = {
            subject: required - sum(Decimal(course.hours) for course in taken if course.subject == subject)
            for subject, required in REQUIRED_HOURS.items()
        }
        left.sort(key=lambda course: -wanted[course.subject])  # stable: the shuffled order within a subject
        taken.append(left.pop(0))
    return taken


def _moment_in(chooser: random.Random) -> datetime:
    day = datetime(YEAR, 3, 1, tzinfo=BEIJING) + timedelta(days=chooser.randrange(270))
    return day + timedelta(
        hours=8 + chooser.randrange(13), minutes=chooser.randrange(60), seconds=chooser.randrange(60)
    )


def meets(rules: YearRules, done: Iterable[Study]) -> bool:
    """Whether these completed courses alone meet the year's rules."""
    earned = {"public": 0, "professional": 0}
    completed: set[str] = set()
    for study in done:
        earned[study.course.subject] += parse_hours(study.course.hours)
        completed.add(course_key(Source(study.course.vendor), study.course.code))
    return evaluate(rules, Balance(earned["public"], earned["professional"]), frozenset(completed)).met


@dataclass(frozen=True, slots=True)
class Strays:
    """The records that go astray on their way to the hub, for reconciliation to recover: ischinese's
    lost webhooks, a webtrn record entered late with its old time stamps (behind the hub's pull
    watermark), and an hnou record whose notification never went out and whose day's file the hub
    did not fetch. Most of them decide their person's year."""

    ischinese: tuple[Study, ...]
    webtrn: Study | None
    hnou: Study | None

    @property
    def studies(self) -> tuple[Study, ...]:
        return (*self.ischinese, *(study for study in (self.webtrn, self.hnou) if study is not None))

    @property
    def people(self) -> frozenset[IdNumber]:
        return frozenset(study.member.id_number for study in self.studies)


def strays(done: Sequence[Study], rules: YearRules) -> Strays:
    """Who loses what: ``LOST_DECIDING`` of ischinese's webhooks without which their person would miss
    the year, and ``LOST_OTHERS`` that decide nothing; at webtrn and at hnou a record that decides a
    year where there is one. A deciding record is of a person who meets the year on their online
    studies alone (no continuing education, no offline training), each person losing one record."""
    deciding = _deciding(done, rules)
    taken: set[IdNumber] = set()

    def first(candidates: Iterable[Study], count: int) -> list[Study]:
        chosen: list[Study] = []
        for study in candidates:
            if len(chosen) < count and study.member.id_number not in taken:
                chosen.append(study)
                taken.add(study.member.id_number)
        return chosen

    lost = first((study for study in deciding if study.course.vendor == "ischinese"), LOST_DECIDING)
    others = [study for study in done if study.course.vendor == "ischinese" and study not in deciding]
    lost += first(others[len(others) // 3 :], LOST_OTHERS)
    webtrn = [study for study in done if study.course.vendor == "webtrn"][:-1]  # the last one sets the watermark
    hnou = [study for study in deciding if study.course.vendor == "hnou"]
    late = first([study for study in webtrn if study in deciding] + webtrn, 1)
    unsent = first(hnou + [study for study in done if study.course.vendor == "hnou"], 1)
    return Strays(tuple(lost), late[0] if late else None, unsent[0] if unsent else None)


def _deciding(done: Sequence[Study], rules: YearRules) -> list[Study]:
    by_person: dict[IdNumber, list[Study]] = {}
    for study in done:
        by_person.setdefault(study.member.id_number, []).append(study)
    deciding = []
    for own in by_person.values():
        member = own[0].member
        if member.continuing_education or member.attends_offline or not meets(rules, own):
            continue
        deciding += [study for study in own if not meets(rules, [other for other in own if other != study])]
    return deciding
