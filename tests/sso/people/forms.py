"""The registration form every test starts from: a valid one for 王芳 of 长沙市中心医院."""

from __future__ import annotations

from datetime import date

from sso.id_numbers import make_id_number

PASSWORD = "correct4horse"
ID_NUMBER = make_id_number("430102", date(1990, 3, 7), 124, today=date(2021, 12, 1))

Form = dict[str, object]


def registration_form(**changes: object) -> Form:
    """A valid registration form, with the fields given replaced (``...`` removes a field)."""
    form: Form = {
        "name": "王芳",
        "password": PASSWORD,
        "id_number": ID_NUMBER,
        "gender": "女",
        "ethnicity": "汉族",
        "phone": "13812345678",
        "email": "wangfang@example.cn",
        "native_place": "湖南长沙",
        "education": "大学本科",
        "major": "临床医学",
        "school": "中南大学",
        "graduated_on": "2012-06-30",
        "unit_code": "430100-0001",
        "title": "主治医师",
        "title_since": "2018-09-01",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not ...}
