"""Google Meet counselling: counsellors connect Google Calendar; customers book sessions."""
