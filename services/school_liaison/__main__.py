from services.school_liaison.app import create_app
from services.school_liaison.settings import Settings
from shared.serve import serve

serve(create_app, Settings(), name="school_liaison")
