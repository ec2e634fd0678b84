"""Education identity cards (教育身份卡): see rules.py and docs/domains/edu_card.md."""
