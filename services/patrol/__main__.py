from services.patrol.app import create_app
from services.patrol.settings import Settings
from shared.serve import serve

serve(create_app, Settings(), name="patrol")
