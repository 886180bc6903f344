"""The demo's people and courses: staff of several institutions, the vendors each of them studies
at, and what each vendor offers. Everything is drawn from a seeded random source, so that every run
tells the same story.

The people are made up: their ID numbers are synthetic (``sso.id_numbers.make_id_number``) and
their phones and e-mails lead nowhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final

from ledger.model import BEIJING
from sso.id_numbers import IdNumber, make_id_number

__all__ = ["CATALOGUE", "INSTITUTIONS", "PASSWORD", "Course", "Institution", "StaffMember", "Study", "cast", "studies"]

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
    Institution("430100-0002", "长沙市第一中学", "汉语言文学", "一级教师", "湖南师范大学"),
    Institution("430181-0003", "浏阳市农业技术推广中心", "农学", "农艺师", "湖南农业大学"),
    Institution("430200-0001", "株洲市中心医院", "护理学", "主管护师", "南华大学"),
    Institution("430600-0002", "岳阳市第一中学", "数学与应用数学", "高级教师", "湖南理工学院"),
    Institution("433100-0001", "湘西土家族苗族自治州人民医院", "临床医学", "副主任医师", "吉首大学"),
)
NAMES: Final = (
    ("王芳", "女"), ("李强", "男"), ("张伟", "男"), ("刘洋", "男"), ("陈静", "女"), ("杨帆", "男"),
    ("赵敏", "女"), ("黄磊", "男"), ("周婷", "女"), ("吴昊", "男"), ("徐丽", "女"), ("孙涛", "男"),
    ("胡军", "男"), ("朱琳", "女"), ("高翔", "男"), ("林晓", "女"), ("何娟", "女"), ("郭勇", "男"),
    ("马超", "男"), ("罗佳", "女"), ("梁爽", "女"), ("宋健", "男"), ("郑雪", "女"), ("谢飞", "男"),
    ("韩梅", "女"), ("唐亮", "男"), ("冯瑶", "女"), ("董浩", "男"), ("萧然", "男"), ("欧阳娜娜", "女"),
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
)
"""The vendors of each person in turn; hnou alone offers nothing on Xi Jinping Thought."""
EFFORT_HOURS: Final = (50, 80, 95, 100, 110, 130)
"""How many hours a person sets out to study in the year; the courses taken reach at least that."""
REQUIRED_HOURS: Final = {"public": Decimal(30), "professional": Decimal(60)}


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
    """``count`` staff members (at most one per name), spread over the institutions."""
    chooser = random.Random(SEED)  # noqa: S311  (a story told the same way each run; nothing secret)
    members = []
    for number, (name, gender) in enumerate(NAMES[:count], start=1):
        institution = INSTITUTIONS[number % len(INSTITUTIONS)]
        sequence = 2 * number + (1 if gender == "男" else 0)  # GB 11643: odd for a man, even for a woman
        birth = date(1970 + chooser.randrange(25), 1 + chooser.randrange(12), 1 + chooser.randrange(28))
        members.append(
            StaffMember(
                name=name,
                id_number=make_id_number(institution.code[:6], birth, sequence),
                gender=gender,
                phone=f"139{number:08d}",
                email=f"staff{number:02d}@demo.example.cn",
                institution=institution,
                vendors=VENDOR_CHOICES[number % len(VENDOR_CHOICES)],
                effort_hours=chooser.choice(EFFORT_HOURS),
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
